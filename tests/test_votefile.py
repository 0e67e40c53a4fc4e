"""Reading vote files: both layouts, voters, and one-line errors that name the row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ranker.votefile import VoteFileError, parse_votes, read_votes


def test_winner_loser_layout_maps_names_in_order_of_first_appearance() -> None:
    t = parse_votes("winner,loser\nA,B\nC,A\n")
    assert t.items == ["A", "B", "C"]
    assert t.left.tolist() == [0, 2]
    assert t.right.tolist() == [1, 0]
    assert t.outcome.tolist() == [1.0, 1.0]
    assert t.voter is None


def test_left_right_outcome_layout_with_ties_voters_and_extra_columns() -> None:
    text = "season,left,right,outcome,voter\n1,x,y,left,v1\n1,y,z,RIGHT,v2\n2,x,z,tie,v1\n"
    t = parse_votes(text)
    assert t.items == ["x", "y", "z"]
    assert t.outcome.tolist() == [1.0, 0.0, 0.5]
    assert t.voter is not None and t.voter.tolist() == [0, 1, 0]
    assert t.voter_names == ["v1", "v2"]
    c = t.counts()
    assert c["wins"].tolist() == [1, 0, 1]
    assert c["losses"].tolist() == [0, 2, 0]
    assert c["ties"].tolist() == [1, 0, 1]
    assert c["comparisons"].tolist() == [2, 2, 2]


def test_numeric_outcomes_blank_lines_bom_and_quoted_names(tmp_path: Path) -> None:
    f = tmp_path / "v.csv"
    f.write_text('\ufeffleft,right,outcome\n"Smith, J",B,1\n\nB,C,0.5\nC,"Smith, J",0\n')
    t = read_votes(f)
    assert t.items == ["Smith, J", "B", "C"]
    assert t.outcome.tolist() == [1.0, 0.5, 0.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("a,b\n1,2\n", "row 1: header must have columns winner,loser or left,right,outcome"),
        ("winner,loser\nA\n", "row 2: expected at least 2 fields, got 1"),
        ("winner,loser\nA,B\nA,A\n", "row 3: item 'A' is compared with itself"),
        ("left,right,outcome\nA,B,left\nA,B,maybe\n", "row 3: outcome must be left, right or tie"),
        ("winner,loser\n,B\n", "row 2: empty item name"),
        ("winner,loser\n\n", "no votes after the header row"),
    ],
)
def test_bad_files_get_one_line_errors_naming_the_row(text: str, message: str) -> None:
    with pytest.raises(VoteFileError) as info:
        parse_votes(text, source="votes.csv")
    assert str(info.value).startswith("votes.csv: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(VoteFileError, match="no such file"):
        read_votes(tmp_path / "nope.csv")
    with pytest.raises(VoteFileError, match="is a directory"):
        read_votes(tmp_path)
    b = tmp_path / "bin.csv"
    b.write_bytes(b"winner,loser\n\xff\xfe,B\n")
    with pytest.raises(VoteFileError, match="not UTF-8"):
        read_votes(b)


def test_reads_every_shared_data_set(shared_data: Path) -> None:
    hockey = read_votes(shared_data / "ncaa_icehockey_2009_10.csv")
    assert (hockey.n_items, hockey.n_votes) == (58, 1083)
    assert int(np.sum(hockey.outcome == 0.5)) == 125
    football = read_votes(shared_data / "epl_football_2008_2013.csv")
    assert (football.n_items, football.n_votes) == (29, 1900)
    assert int(np.sum(football.outcome == 0.5)) == 505
    potato = read_votes(shared_data / "potato_weight_visual.csv")
    assert (potato.n_items, potato.n_votes) == (20, 2280)
    assert potato.voter_names is not None and len(potato.voter_names) == 12


def test_side_meaning_follows_the_layout() -> None:
    assert parse_votes("left,right,outcome\nA,B,left\n").side_meaningful is True
    assert parse_votes("winner,loser\nA,B\n").side_meaningful is False


def test_timestamps_become_days_since_the_epoch_in_utc() -> None:
    text = (
        "winner,loser,timestamp\n"
        "A,B,1970-01-02\n"
        "B,C,1970-01-02T12:00:00Z\n"
        "C,A,1970-01-03T02:00:00+02:00\n"
        "A,C,1970-01-01T06:00:00\n"
    )
    t = parse_votes(text)
    assert t.time is not None
    np.testing.assert_allclose(t.time, [1.0, 1.5, 2.0, 0.25])
    ctx = t.context()
    assert ctx is not None and ctx.time is t.time and ctx.group is None


def test_seasons_are_numbered_in_natural_order_and_a_timestamp_wins() -> None:
    t = parse_votes(
        "left,right,outcome,season\nA,B,left,2009-10\nB,C,tie,2008-9\nA,C,right,2010-11\n"
    )
    assert t.time is not None and t.time.tolist() == [1.0, 0.0, 2.0]
    both = parse_votes("winner,loser,timestamp,season\nA,B,1970-01-03,2008-9\n")
    assert both.time is not None and both.time.tolist() == [2.0]
    with pytest.raises(VoteFileError, match="row 3: empty season"):
        parse_votes("winner,loser,season\nA,B,1\nB,C, \n")


def test_groups_get_dense_indices_and_an_empty_cell_means_no_group() -> None:
    t = parse_votes("left,right,outcome,group\nA,B,left,patient\nB,C,tie,\nA,C,right,carer\n")
    assert t.group is not None and t.group.tolist() == [0, -1, 1]
    assert t.group_names == ["patient", "carer"]
    assert t.time is None


def test_files_without_the_optional_columns_have_no_context() -> None:
    t = parse_votes("winner,loser,voter\nA,B,v\n")
    assert t.time is None and t.group is None and t.group_names is None
    assert t.context() is None


@pytest.mark.parametrize("stamp", ["06/11/2014", "yesterday", ""])
def test_a_bad_timestamp_is_a_one_line_error_naming_the_row(stamp: str) -> None:
    with pytest.raises(VoteFileError) as info:
        parse_votes(f"winner,loser,timestamp\nA,B,2014-11-06\nB,C,{stamp}\n", source="v.csv")
    msg = str(info.value)
    assert msg.startswith("v.csv: row 3: timestamp must be an ISO 8601 date")
    assert "\n" not in msg


def test_shared_files_with_dates_and_sides(shared_data: Path) -> None:
    faces = read_votes(shared_data / "physical_strength_faces.csv")
    assert faces.time is not None and faces.side_meaningful is False
    assert np.all(np.diff(faces.time) >= 0)  # rows are in date order
    assert faces.time.max() - faces.time.min() == 40.0  # 2014-11-06 to 2014-12-16
    epl = read_votes(shared_data / "epl_football_2008_2013.csv")  # five seasons, 380 games each
    assert epl.time is not None and np.bincount(epl.time.astype(int)).tolist() == [380] * 5
    hockey = read_votes(shared_data / "ncaa_icehockey_2009_10.csv")
    assert hockey.side_meaningful is True and hockey.time is not None
