import numpy as np
import pytest

from producer.drums.patterns import fit_bars, format_grid, format_pattern, parse_pattern
from producer.errors import InputError


def test_parse_all_symbols():
    assert parse_pattern("x.X-|10").tolist() == [1, 0, 2, 0, 1, 0]


def test_parse_error_points_at_bad_character():
    with pytest.raises(InputError) as e:
        parse_pattern("x..y")
    assert str(e.value).startswith("--kick \"x..y\": unexpected 'y' at position 4")


def test_parse_error_position_counts_bar_lines():
    with pytest.raises(InputError, match="unexpected 'o' at position 6"):
        parse_pattern("x...|o...")


def test_parse_empty():
    with pytest.raises(InputError, match="no steps"):
        parse_pattern("||")


def test_fit_bars_loops_and_checks():
    one = parse_pattern("x...x...x...x...")
    assert len(fit_bars(one, steps_per_bar=16, bars=4)) == 64
    assert fit_bars(one, steps_per_bar=16, bars=4)[48] == 1
    with pytest.raises(InputError, match="not a whole number of 16-step bars"):
        fit_bars(parse_pattern("x..."), steps_per_bar=16)
    with pytest.raises(InputError, match="cannot be looped"):
        fit_bars(np.tile(one, 2), steps_per_bar=16, bars=3)


def test_format_round_trip():
    text = "X...x...|x.x....."
    p = parse_pattern(text)
    assert format_pattern(p, steps_per_bar=8) == text
    grid = format_grid({"kick": p, "snare": np.zeros(16, np.uint8)}, steps_per_bar=16)
    assert grid.splitlines()[1] == "kick   X...x...x.x....."
    assert grid.splitlines()[0].startswith("       1   2   3   4")


def test_grid_numbers_the_beats_of_other_meters():
    p = parse_pattern("x.....x.....")
    grid = format_grid({"kick": p}, steps_per_bar=12, beat_steps=6)  # 6/8: two dotted beats
    assert grid.splitlines()[0] == "      1     2     "
