"""Custom record types registered from Python: reader threads call a Python reader."""

import json
import threading

import pytest

from lingvo import ops


@pytest.fixture
def jsonl_type():
    """A `jsonl:` type: one record per JSON line, the value of its "text" field."""

    def read(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)["text"].encode()

    ops.register_record_type("jsonl", read)
    yield "jsonl"
    assert ops.unregister_record_type("jsonl")


def _write_jsonl(path, texts):
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return path


def test_custom_type_reads_every_record_once_per_epoch(tmp_path, jsonl_type):
    for i in range(3):
        _write_jsonl(tmp_path / f"part-{i}.jsonl", [f"r{i}-{j}" for j in range(50)])
    want = sorted(f"r{i}-{j}".encode() for i in range(3) for j in range(50))
    with ops.RecordYielder(f"jsonl:{tmp_path}/part-*.jsonl", seed=7, repeat_count=2) as y:
        records = list(y)
    assert sorted(records[:150]) == want
    assert sorted(records[150:]) == want


def test_custom_type_is_reproducible_and_shardable(tmp_path, jsonl_type):
    _write_jsonl(tmp_path / "a.jsonl", [f"a{j}" for j in range(40)])
    pattern = f"jsonl:{tmp_path}/a.jsonl"
    runs = []
    for _ in range(2):
        with ops.RecordYielder(pattern, seed=11, buffer_size=8, repeat_count=1) as y:
            runs.append(list(y))
    assert runs[0] == runs[1]
    shards = []
    for s in range(2):
        with ops.RecordYielder(pattern, repeat_count=1, shard_index=s, shard_count=2) as y:
            shards.append(set(y))
    assert not shards[0] & shards[1]
    assert len(shards[0] | shards[1]) == 40


def test_custom_type_mixes_with_builtin_types(tmp_path, jsonl_type):
    _write_jsonl(tmp_path / "a.jsonl", ["j"] * 100)
    (tmp_path / "b.txt").write_text("t\n" * 100)
    with ops.RecordYielder(
        [f"jsonl:{tmp_path}/a.jsonl", f"text:{tmp_path}/b.txt"], [0.5, 0.5], with_source_id=True
    ) as y:
        got = y.next_batch(400)
    assert {(r, s) for r, s in got} == {(b"j", 0), (b"t", 1)}


def test_pattern_parser_names_pseudo_files():
    ops.register_record_type(
        "fakeiter",
        lambda name: iter([name.encode()] * 3),
        pattern_parser=lambda pattern: pattern.split("+"),
    )
    try:
        with ops.RecordYielder("fakeiter:hello1+hello2", sequential=True, repeat_count=1) as y:
            assert list(y) == [b"hello1"] * 3 + [b"hello2"] * 3
    finally:
        ops.unregister_record_type("fakeiter")


def test_reader_errors_reach_the_caller(tmp_path):
    def broken(path):
        yield b"fine"
        raise RuntimeError(f"cannot decode {path}")

    (tmp_path / "x.dat").write_text("")
    ops.register_record_type("broken", broken)
    try:
        with ops.RecordYielder(f"broken:{tmp_path}/x.dat", sequential=True) as y:
            assert next(y) == b"fine"
            with pytest.raises(RuntimeError, match=r"cannot decode .*x\.dat"):
                next(y)
            with pytest.raises(RuntimeError, match="cannot decode"):  # The error is sticky.
                next(y)
    finally:
        ops.unregister_record_type("broken")


def test_records_must_be_bytes(tmp_path):
    (tmp_path / "x.dat").write_text("")
    ops.register_record_type("strs", lambda path: ["not bytes"])
    try:
        with (
            ops.RecordYielder(f"strs:{tmp_path}/x.dat") as y,
            pytest.raises(TypeError, match=r"type 'strs' yielded a str for '.*x\.dat'"),
        ):
            next(y)
    finally:
        ops.unregister_record_type("strs")


def test_bytearray_records_are_accepted(tmp_path):
    (tmp_path / "x.dat").write_text("")
    ops.register_record_type("barr", lambda path: [bytearray(b"ab"), b"cd"])
    try:
        with ops.RecordYielder(f"barr:{tmp_path}/x.dat", sequential=True, repeat_count=1) as y:
            assert list(y) == [b"ab", b"cd"]
    finally:
        ops.unregister_record_type("barr")


def test_unknown_type_lists_the_registered_types(tmp_path, jsonl_type):
    with pytest.raises(ValueError) as info:
        ops.RecordYielder(f"parquet:{tmp_path}/x")
    message = str(info.value)
    assert "Unable to create a record reader for format 'parquet'" in message
    assert "iota, jsonl, text, text_indirect, tfrecord, tfrecord_gzip" in message


def test_registered_record_types(jsonl_type):
    assert ops.registered_record_types() == [
        "iota",
        "jsonl",
        "text",
        "text_indirect",
        "tfrecord",
        "tfrecord_gzip",
    ]
    assert not ops.unregister_record_type("never-registered")


@pytest.mark.parametrize("name", ["text", "tfrecord", "text_indirect", "", "a:b", "a,b", "a/b"])
def test_bad_names_are_rejected(name):
    with pytest.raises(ValueError, match="record type"):
        ops.register_record_type(name, lambda path: [])


def test_non_callables_are_rejected():
    with pytest.raises(TypeError, match="needs a callable reader"):
        ops.register_record_type("x", 3)
    with pytest.raises(TypeError, match="pattern_parser must be callable"):
        ops.register_record_type("x", lambda p: [], pattern_parser="nope")


def test_reading_from_several_python_threads(tmp_path, jsonl_type):
    for i in range(4):
        _write_jsonl(tmp_path / f"p{i}.jsonl", [f"{i}-{j}" for j in range(500)])
    got = []
    lock = threading.Lock()
    with ops.RecordYielder(f"jsonl:{tmp_path}/p*.jsonl", parallelism=4, repeat_count=1) as y:

        def consume():
            for r in y:
                with lock:
                    got.append(r)

        threads = [threading.Thread(target=consume) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(got) == sorted(f"{i}-{j}".encode() for i in range(4) for j in range(500))


def test_closing_mid_read_does_not_hang(tmp_path):
    def endless(path):
        while True:
            yield b"x"

    (tmp_path / "x.dat").write_text("")
    ops.register_record_type("endless", endless)
    try:
        y = ops.RecordYielder(f"endless:{tmp_path}/x.dat", buffer_size=4)
        assert next(y) == b"x"
        y.close()
        with pytest.raises(ValueError, match="closed"):
            next(y)
    finally:
        ops.unregister_record_type("endless")
