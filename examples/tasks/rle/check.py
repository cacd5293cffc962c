def check(candidate):
    assert candidate("aaabccdddd") == "a3bc2d4"
    assert candidate("abc") == "abc"
    assert candidate("") == ""
    assert candidate("zzzzzzzzzzzz") == "z12"
    assert candidate("aabbaa") == "a2b2a2"
    assert candidate("x") == "x"
