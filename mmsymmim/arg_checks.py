"""One-line errors for bad option values of the classes mmsymmim defines.

Each names the class, the key, the value given and what is allowed::

    SymMIM: `symmetric` must be True or False, got 'maybe'

A ``--cfg-options`` typo arrives as a string; it is refused here rather than
taken as a truthy flag or a number of the wrong sign.
"""
import math
from numbers import Integral, Real
from typing import Optional, Sequence


def check_bool(owner: str, key: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f'{owner}: `{key}` must be True or False, got '
                         f'{value!r}')
    return value


def check_int(owner: str, key: str, value, low: int = 1) -> int:
    if (not isinstance(value, Integral) or isinstance(value, bool)
            or value < low):
        raise ValueError(f'{owner}: `{key}` must be an int >= {low}, got '
                         f'{value!r}')
    return int(value)


def check_number(owner: str, key: str, value, low: Optional[float] = None,
                 high: Optional[float] = None, low_open: bool = False,
                 high_open: bool = False, why: str = '') -> float:
    """A finite real number within the bounds given (closed unless
    ``*_open``); ``why`` is appended to the message."""
    ok = (isinstance(value, Real) and not isinstance(value, bool)
          and math.isfinite(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if low is not None and high is not None:
            allowed = (f"in {'(' if low_open else '['}{low:g}, {high:g}"
                       f"{')' if high_open else ']'}")
        elif low is not None:
            allowed = f"{'>' if low_open else '>='} {low:g}"
        elif high is not None:
            allowed = f"{'<' if high_open else '<='} {high:g}"
        else:
            allowed = 'finite'
        raise ValueError(f'{owner}: `{key}` must be a number {allowed}'
                         f'{why}, got {value!r}')
    return float(value)


def check_choice(owner: str, key: str, value, choices: Sequence):
    if isinstance(value, bool) or value not in choices:
        raise ValueError(f'{owner}: `{key}` must be one of '
                         f'{tuple(choices)}, got {value!r}')
    return value
