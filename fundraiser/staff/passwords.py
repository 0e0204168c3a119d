"""What a staff password must be: long enough, not one character over and
over, not one of the passwords attackers try first, not the email address.

The list is short on purpose (what guessing tools try first, at 12
characters or more, since anything shorter is refused anyway): it stops the
obvious, the length does the rest. Compared without case, spaces or
punctuation, and with trailing digits and symbols taken off, so
"Password2024!" counts as "password"."""

from __future__ import annotations

import re

MIN_LENGTH = 12
MAX_LENGTH = 200

# Words (and keyboard walks) that guessing tools pair with digits.
_COMMON_STEMS = frozenset("""
password passw0rd passwort motdepasse contrasena wachtwoord salasana
qwerty qwertz azerty qwertyuiop asdfghjkl zxcvbnm qazwsx 1qaz2wsx qwe123 1q2w3e4r
letmein welcome iloveyou trustno1 admin administrator changeme secret
monkey dragon football baseball sunshine princess shadow superman
master starwars whatever freedom fundraiser fundraising donate donation
staff login abc123 abcd1234 test
""".split())

# Whole phrases, already normalised.
_COMMON_PHRASES = frozenset("""
correcthorsebatterystaple iloveyouiloveyou passwordpassword qwertyqwerty
welcomewelcome letmeinletmein administrator1 changemechangeme
thequickbrownfoxjumpsoverthelazydog myspace1myspace1 trustno1trustno1
""".split())

_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "01234567890123456789", "qwertyuiopasdfghjklzxcvbnm",
              "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p")


class PasswordRejected(ValueError):
    """Codes: "too short", "too long", "one character", "common", "email"."""


_LEET = str.maketrans({"@": "a", "4": "a", "$": "s", "5": "s", "0": "o", "3": "e", "1": "i",
                       "!": "i", "7": "t"})


def _normalise(password: str) -> str:
    return re.sub(r"[\W_]+", "", password.lower())


def _stems(password: str) -> set[str]:
    """The password without its trailing digits and symbols, as typed and
    with p@ssw0rd-style substitutions undone."""
    trimmed = re.sub(r"[\d\W_]+$", "", password.lower())
    return {_normalise(trimmed), _normalise(trimmed.translate(_LEET))}


def _is_sequence(text: str) -> bool:
    """abcdef…, 123456…, qwerty…, or the same run backwards."""
    return any(text in seq or text in seq[::-1] for seq in _SEQUENCES)


def check(password: str, email: str = "") -> None:
    """Raise PasswordRejected with the first rule the password breaks."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected("too short")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected("too long")
    if len(set(password)) == 1:
        raise PasswordRejected("one character")
    plain = _normalise(password)
    stems = _stems(password)
    if (plain in _COMMON_PHRASES or plain in _COMMON_STEMS or stems & _COMMON_STEMS
            or (len(plain) >= 6 and _is_sequence(plain)) or len(set(plain)) <= 1):
        raise PasswordRejected("common")
    email = (email or "").strip().lower()
    local = _normalise(email.split("@")[0])
    if email and (password.strip().lower() == email or (len(local) >= 4 and local in stems)):
        raise PasswordRejected("email")
