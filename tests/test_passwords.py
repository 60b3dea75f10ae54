import pytest

from recommender.errors import UserInputError
from recommender.passwords import Guesses, TooManyGuesses, check_secret, hash_secret, verify_secret


def test_hash_is_salted_and_verifies_only_the_secret():
    a, b = hash_secret("1234"), hash_secret("1234")
    assert a != b and a.startswith("scrypt$") and "1234" not in a
    assert verify_secret("1234", a) and verify_secret("1234", b)
    assert not verify_secret("1235", a)
    assert not verify_secret("1234", None)


@pytest.mark.parametrize(
    "stored", ["", "plain", "scrypt$1$2$3$x$y", "md5$a$b$c$d$e", "scrypt$1099511627776$8$1$AAAA$AAAA"]
)
def test_damaged_or_costly_hashes_never_match(stored):
    assert not verify_secret("1234", stored)


@pytest.mark.parametrize("bad", ["", "   ", "123", "x" * 129])
def test_check_secret_refuses(bad):
    with pytest.raises(UserInputError):
        check_secret(bad)


def test_guesses_wait_doubles_after_free_tries_and_clears_on_success():
    now = [100.0]
    guesses = Guesses(free=2, base_s=2.0, cap_s=10.0, clock=lambda: now[0])
    stored = hash_secret("right")
    assert not guesses.check("alice", "wrong", stored)
    assert not guesses.check("alice", "wrong", stored)
    assert guesses.wait_left("alice") == pytest.approx(2.0)
    with pytest.raises(TooManyGuesses, match="wait 2 s"):
        guesses.check("alice", "right", stored)  # even the right answer waits
    assert guesses.wait_left("bob") == 0.0  # another key is not held up
    now[0] += 2.0
    assert not guesses.check("alice", "wrong", stored)
    assert guesses.wait_left("alice") == pytest.approx(4.0)
    now[0] += 100.0
    assert guesses.check("alice", "right", stored)
    assert guesses.wait_left("alice") == 0.0
