def check(candidate):
    assert candidate(3, 5) == 3
    assert candidate(0, 101) == 1
    assert candidate(3, 11) == 8
    assert candidate(100, 101) == 1
    assert candidate(1101, 101) == 2
    assert candidate(10**18, 1000000007) == pow(2, 10**18, 1000000007)
