"""`text_indirect:` file patterns: a text-format VersionedFileSet names the files."""

import collections
import pathlib
import random

import pytest

from lingvo import ops


def _write_lines(path, prefix, n):
    path.write_text("".join(f"{prefix}:{i:06d}\n" for i in range(n)))
    return path


def _write_file_set(path, *patterns, history=()):
    lines = ["# Written by the test.", "current {"]
    lines += [f'  file_pattern: "{p}"' for p in patterns]
    lines += ["  create_timestamp: 1700000000.5", "}"]
    for old in history:
        lines += ["history {", f'  file_pattern: "{old}"', "}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reads_the_current_files_relative_to_the_file_set(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write_lines(data / "a-0.txt", "a0", 30)
    _write_lines(data / "a-1.txt", "a1", 20)
    _write_lines(tmp_path / "b.txt", "b", 10)
    _write_lines(data / "old.txt", "old", 5)
    fs = _write_file_set(tmp_path / "set.pbtxt", "data/a-*.txt", "b.txt", history=["data/old.txt"])
    with ops.RecordYielder(f"text_indirect:{fs}", sequential=True, repeat_count=1) as y:
        records = list(y)
    # Sequential mode reads the files in path order: <tmp>/b.txt, then <tmp>/data/a-*.
    want = [f"b:{i:06d}" for i in range(10)]
    want += [f"a0:{i:06d}" for i in range(30)] + [f"a1:{i:06d}" for i in range(20)]
    assert [r.decode() for r in records] == want


def test_absolute_patterns_and_alternative_syntax(tmp_path):
    data = _write_lines(tmp_path / "x.txt", "x", 3)
    _write_lines(tmp_path / "y.txt", "y", 2)
    fs = tmp_path / "set.pbtxt"
    fs.write_text(
        f"current: < file_pattern: ['{data}', \"y\" '.txt'] ; create_timestamp: -1e3 >,\n"
        "history { }\n"
    )
    with ops.RecordYielder(f"text_indirect:{fs}", sequential=True, repeat_count=1) as y:
        assert [r.decode() for r in y] == [
            "x:000000",
            "x:000001",
            "x:000002",
            "y:000000",
            "y:000001",
        ]


def test_a_new_version_is_picked_up_at_the_next_epoch(tmp_path):
    _write_lines(tmp_path / "v1.txt", "v1", 3000)
    _write_lines(tmp_path / "v2.txt", "v2", 2000)
    fs = _write_file_set(tmp_path / "set.pbtxt", "v1.txt")
    with ops.RecordYielder(
        f"text_indirect:{fs}", seed=301, buffer_size=16, parallelism=1, repeat_count=3
    ) as y:
        first = next(y)
        # Switched mid-epoch: the rest of epoch 1 still comes from version 1.
        _write_file_set(fs, "v2.txt", history=["v1.txt"])
        epoch1 = [first, *y.next_batch(2999)]
        assert y.epoch == 1
        assert {r[:3] for r in epoch1} == {b"v1:"}
        assert len(set(epoch1)) == 3000
        epoch2 = y.next_batch(2000)
        assert y.epoch == 2
        assert sorted(epoch2) == [b"v2:%06d" % i for i in range(2000)]
        # Back to version 1 for the third and last epoch.
        _write_file_set(fs, "v1.txt")
        epoch3 = y.next_batch(5000)
        assert sorted(epoch3) == [b"v1:%06d" % i for i in range(3000)]
        assert y.next_batch(1) == []


def test_malformed_file_set_names_file_and_line(tmp_path):
    fs = tmp_path / "bad.pbtxt"
    fs.write_text('current {\n  file_pattern: "a.txt"\n  file_patern: "b.txt"\n}\n')
    with pytest.raises(ValueError, match=r"bad\.pbtxt:3: unknown field 'file_patern' in FileSet"):
        ops.RecordYielder(f"text_indirect:{fs}")


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('current {\n  file_pattern: "a.txt\n}\n', 2, "unterminated string"),
        ("current {\n  file_pattern: a.txt\n}\n", 2, "file_pattern needs a quoted string"),
        ('current {\n\n  file_pattern: "a.txt"\n', 4, "expected '}' to close the FileSet"),
        ('currents { file_pattern: "a" }', 1, "unknown field 'currents' in VersionedFileSet"),
        ('current { file_pattern: "a" }\ncurrent { file_pattern: "b" }', 2, "more than once"),
        ('current { file_pattern "a" }', 1, "expected ':' after 'file_pattern'"),
        ('current { create_timestamp: "x" }', 1, "create_timestamp needs a number"),
        ('current { file_pattern: "a\\q" }', 1, "unknown escape '\\q'"),
        ('current { file_pattern: "a" }\n\u00e9', 2, "unexpected character byte 0xc3"),
        ("current = {}", 1, "unexpected character '='"),
    ],
)
def test_syntax_errors_name_the_line(tmp_path, text, line, problem):
    fs = tmp_path / "set.pbtxt"
    fs.write_text(text)
    with pytest.raises(ValueError) as info:
        ops.RecordYielder(f"text_indirect:{fs}")
    assert f"set.pbtxt:{line}: " in str(info.value)
    assert problem in str(info.value)


def test_non_utf8_names_are_escaped_in_errors(tmp_path):
    fs = tmp_path / "set.pbtxt"
    fs.write_text('current { file_pattern: "\\377x" }\n')
    with pytest.raises(FileNotFoundError, match=r"No such file: '.*/\\xffx'"):
        ops.RecordYielder(f"text_indirect:{fs}")


def test_file_set_without_current_patterns_is_an_error(tmp_path):
    fs = tmp_path / "empty.pbtxt"
    fs.write_text("# nothing\nhistory { file_pattern: 'a' }\n")
    with pytest.raises(ValueError, match=r"empty\.pbtxt: the VersionedFileSet has no current"):
        ops.RecordYielder(f"text_indirect:{fs}")


def test_missing_file_set_and_unmatched_glob(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such VersionedFileSet file"):
        ops.RecordYielder(f"text_indirect:{tmp_path / 'nope.pbtxt'}")
    fs = _write_file_set(tmp_path / "set.pbtxt", "none-*.txt")
    with pytest.raises(ValueError, match=r"Found no files at '.*none-\*\.txt'"):
        ops.RecordYielder(f"text_indirect:{fs}")


def test_a_broken_new_version_surfaces_at_the_next_epoch(tmp_path):
    _write_lines(tmp_path / "v1.txt", "v1", 10)
    fs = _write_file_set(tmp_path / "set.pbtxt", "v1.txt")
    with ops.RecordYielder(f"text_indirect:{fs}", sequential=True) as y:
        assert len(y.next_batch(5)) == 5
        fs.write_text("current {\n  oops }\n")
        with pytest.raises(ValueError, match=r"set\.pbtxt:2: expected ':' after 'oops'"):
            y.next_batch(100)


def test_shards_split_the_listed_files(tmp_path):
    for i in range(4):
        _write_lines(tmp_path / f"d-{i}.txt", f"d{i}", 5)
    fs = _write_file_set(pathlib.Path(tmp_path) / "set.pbtxt", "d-*.txt")
    seen = []
    for shard in range(2):
        with ops.RecordYielder(
            f"text_indirect:{fs}", repeat_count=1, shard_index=shard, shard_count=2
        ) as y:
            seen.append(set(y))
    assert not seen[0] & seen[1]
    assert len(seen[0] | seen[1]) == 20


_TEXT_FORMAT_PIECES = [
    *("current", "history", "file_pattern", "create_timestamp", "{", "}", "<", ">", "[", "]"),
    *(":", ",", ";", "#", "\n", " ", '"', "'", "\\", "\\x4", "\\777", '"a.txt"', "1.5"),
    *("-inf", "\u00e9", "=", "\x00"),
]


def test_fuzzed_file_sets_fail_only_with_documented_errors(tmp_path):
    # A seeded random walk over text-format pieces (hypothesis is not a dependency here).
    _write_lines(tmp_path / "a.txt", "a", 2)
    fs = tmp_path / "fuzz.pbtxt"
    rng = random.Random(301)
    outcomes = collections.Counter()
    for _ in range(1000):
        fs.write_text("".join(rng.choices(_TEXT_FORMAT_PIECES, k=rng.randint(0, 25))))
        try:
            with ops.RecordYielder(f"text_indirect:{fs}", sequential=True, repeat_count=1) as y:
                assert list(y) == [b"a:000000", b"a:000001"]
            outcomes["ok"] += 1
        except ValueError as e:
            assert "fuzz.pbtxt" in str(e) or "Found no files" in str(e), e
            outcomes["ValueError"] += 1
        except FileNotFoundError as e:
            assert "No such file" in str(e), e
            outcomes["FileNotFoundError"] += 1
    assert outcomes["ValueError"] > 0
