"""The caches: a private writable one and a shared read-only one, written atomically, robust to damage."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from helpers import make_class_folders

from rsna_workshop import cli, config
from rsna_workshop.datasets import ImageReader, from_folder
from rsna_workshop.model.embeddings import EmbeddingStore, FileDigests

ROWS = np.arange(3 * 1280, dtype=np.float32).reshape(3, 1280)


# ---- where the caches are ------------------------------------------------------------------------


def test_the_writable_cache_is_the_variable_else_beside_the_data_else_in_the_home(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "data"))
    monkeypatch.delenv(config.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home_cache"))
    assert config.cache_dir() == tmp_path / "data" / "cache"
    monkeypatch.setattr(config, "writable", lambda folder: False)  # a shared, read-only data folder
    assert config.cache_dir() == tmp_path / "home_cache" / "rsna_workshop"
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "mine"))
    assert config.cache_dir() == tmp_path / "mine"


def test_the_shared_cache_is_the_variable_else_the_data_folders_cache_when_not_writable_here(
        tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "data"))
    monkeypatch.delenv(config.SHARED_CACHE_ENV, raising=False)
    monkeypatch.delenv(config.CACHE_ENV, raising=False)
    (tmp_path / "data" / "cache").mkdir(parents=True)
    assert config.shared_cache_dir() is None  # it is the writable cache itself
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "mine"))
    assert config.shared_cache_dir() == tmp_path / "data" / "cache"
    monkeypatch.setenv(config.SHARED_CACHE_ENV, str(tmp_path / "elsewhere"))
    assert config.shared_cache_dir() == tmp_path / "elsewhere"


def test_writable_looks_at_the_nearest_existing_folder(tmp_path):
    assert config.writable(tmp_path / "not" / "yet")
    (tmp_path / "file").write_text("")
    assert not config.writable(tmp_path / "file" / "below")  # a file where a folder would be


def test_downloads_go_to_the_writable_cache_when_the_data_folder_is_read_only(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "mine"))
    assert config.downloads_dir() == tmp_path / "data" / "downloads"
    monkeypatch.setattr(config, "writable", lambda folder: folder == tmp_path / "mine")
    assert config.downloads_dir() == tmp_path / "mine" / "downloads"


# ---- the embedding store -------------------------------------------------------------------------


def test_a_truncated_shard_is_reported_in_one_line_and_deleted_so_it_is_replaced(tmp_path):
    store = EmbeddingStore(tmp_path / "store")
    shard = store.write(["a", "b", "c"], ROWS)
    shard.write_bytes(shard.read_bytes()[:1000])
    out = np.zeros((3, 1280), np.float32)
    with pytest.warns(UserWarning, match=r"'.*\.npz' is damaged .*computed again and the file replaced") as caught:
        found = store.read(["a", "b", "c"], out)
    assert not found.any() and len(caught) == 1 and "\n" not in str(caught[0].message)
    assert not shard.exists()
    assert store.write(["a", "b", "c"], ROWS) == shard
    assert store.read(["a", "b", "c"], out).all()
    np.testing.assert_array_equal(out, ROWS)


@pytest.mark.parametrize("damage", ["flip", "shape", "nan", "junk"])
def test_every_kind_of_damaged_shard_is_detected(tmp_path, damage):
    store = EmbeddingStore(tmp_path / "store")
    shard = store.write(["a", "b", "c"], ROWS)
    if damage == "flip":  # a flipped byte in the embeddings fails the zip's CRC check
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 0xFF
        shard.write_bytes(bytes(data))
    elif damage == "shape":
        np.savez(shard, keys=np.array(["a", "b", "c"]), embeddings=ROWS[:, :100])
    elif damage == "nan":
        np.savez(shard, keys=np.array(["a", "b", "c"]), embeddings=ROWS * np.nan)
    else:
        shard.write_bytes(b"not a zip at all" * 100)
    with pytest.warns(UserWarning, match="is damaged"):
        assert not store.read(["a", "b", "c"], np.zeros((3, 1280), np.float32)).any()


def test_shared_shards_are_read_after_ours_and_never_written_or_deleted(tmp_path):
    shared = EmbeddingStore(tmp_path / "shared")
    shared.write(["a", "b"], ROWS[:2])
    broken = shared.write(["z"], ROWS[:1])
    broken.write_bytes(b"junk")
    mine = EmbeddingStore(tmp_path / "mine", [tmp_path / "shared"])
    mine.write(["b"], -ROWS[2:])
    out = np.zeros((4, 1280), np.float32)
    with pytest.warns(UserWarning, match="shared cache.*classroom prepare"):
        found = mine.read(["a", "b", "z", "c"], out)
    assert found.tolist() == [True, True, False, False]
    np.testing.assert_array_equal(out[:2], [ROWS[0], -ROWS[2]])  # our own copy of "b" comes first
    assert broken.exists()
    mine.write(["z", "c"], ROWS[:2])
    assert len(list((tmp_path / "shared").glob("*.npz"))) == 2
    assert len(list((tmp_path / "mine").glob("*.npz"))) == 2


def test_a_store_that_cannot_be_written_warns_and_goes_on(tmp_path):
    (tmp_path / "blocked").write_text("a file where the folder should be")
    with pytest.warns(UserWarning, match="Cannot write the embedding cache.*RSNA_WORKSHOP_CACHE"):
        assert EmbeddingStore(tmp_path / "blocked" / "store").write(["a"], ROWS[:1]) is None


WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from rsna_workshop.model.embeddings import EmbeddingStore
    store, value, seconds = EmbeddingStore(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    rows = np.full((200, 1280), value, np.float32)
    keys = [f"key{i}" for i in range(200)]
    end = time.time() + seconds
    while time.time() < end:
        store.write(keys, rows)
""")


def test_processes_writing_the_same_entry_never_leave_a_damaged_or_mixed_one(tmp_path):
    folder = tmp_path / "store"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(value), "4"])
               for value in (1.0, 2.0)]
    keys = [f"key{i}" for i in range(200)]
    seen = set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a damaged shard's warning fails the test
        while any(writer.poll() is None for writer in writers):
            out = np.zeros((200, 1280), np.float32)
            if EmbeddingStore(folder).read(keys, out).all():
                assert len(np.unique(out)) == 1  # one writer's whole shard, never a mix
                seen.add(float(out[0, 0]))
            time.sleep(0.01)
    assert [writer.wait() for writer in writers] == [0, 0]
    assert seen and seen <= {1.0, 2.0}
    assert [p.name for p in folder.iterdir()] == [next(folder.glob("*.npz")).name]  # no leftovers


# ---- file digests --------------------------------------------------------------------------------


def test_a_shared_memo_holds_wherever_the_shared_folder_is_seen(tmp_path, monkeypatch):
    shared_root = tmp_path / "prepared"
    data = from_folder(make_class_folders(shared_root / "pictures", (2, 2)))
    memo = FileDigests(shared_root / "cache")
    with ImageReader(data) as reader:
        digests = [memo.digest(item, reader) for item in data.items]
    memo.save()
    moved = tmp_path / "mounted_elsewhere"
    shutil.copytree(shared_root, moved, copy_function=shutil.copy2)  # like cp -a: times kept
    moved_data = from_folder(moved / "pictures")
    user = FileDigests(tmp_path / "user_cache", [moved / "cache"])
    monkeypatch.setattr(ImageReader, "read_bytes", lambda self, item: 1 / 0)  # nothing is hashed
    with ImageReader(moved_data) as reader:
        assert [user.digest(item, reader) for item in moved_data.items] == digests
    user.save()
    assert not (tmp_path / "user_cache").exists()


def test_memos_saved_by_two_sessions_keep_both(tmp_path):
    data = from_folder(make_class_folders(tmp_path / "pictures", (2, 2)))
    first, second = FileDigests(tmp_path / "cache"), FileDigests(tmp_path / "cache")
    with ImageReader(data) as reader:
        first.digest(data.items[0], reader)
        second.digest(data.items[1], reader)
    first.save()
    second.save()
    assert len(FileDigests(tmp_path / "cache").memo) == 2
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [FileDigests.FILE]


# ---- with the real backbone ----------------------------------------------------------------------


@pytest.mark.slow
def test_train_recomputes_a_truncated_cache_file_with_a_warning(tmp_path, monkeypatch, weights_file, capsys):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(config.BACKBONE_LOG_ENV, str(tmp_path / "backbone.log"))
    folder = make_class_folders(tmp_path / "pictures", (6, 6))
    assert cli.main(["train", str(folder), "--epochs", "2"]) == 0
    (shard,) = (config.cache_dir() / "embeddings").rglob("*.npz")
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.warns(UserWarning, match="is damaged.*computed again and the file replaced"):
        assert cli.main(["train", str(folder), "--epochs", "2"]) == 0
    np.load(shard)["embeddings"]  # whole again
    runs = (tmp_path / "backbone.log").read_text().splitlines()
    assert [line.split("\t")[1] for line in runs] == ["12", "12"]
    assert cli.main(["train", str(folder), "--epochs", "2"]) == 0
    assert len((tmp_path / "backbone.log").read_text().splitlines()) == 2  # warm: no backbone run
