"""The example database a campaign's shards share: one corpus per configuration,
and a failure once saved stays for every later shard."""

from __future__ import annotations

from hypothesis.database import InMemoryExampleDatabase

from hacli.campaign.shard import KeyedDatabase


def test_configurations_do_not_see_each_others_examples() -> None:
    shared = InMemoryExampleDatabase()
    two, three = KeyedDatabase(shared, "n2"), KeyedDatabase(shared, "n3")
    two.save(b"key", b"failure")
    assert list(two.fetch(b"key")) == [b"failure"]
    assert list(three.fetch(b"key")) == []
    assert two.saved and not three.saved


def test_a_saved_failure_is_never_deleted_and_a_move_copies() -> None:
    shared = InMemoryExampleDatabase()
    finder, other = KeyedDatabase(shared, "n2"), KeyedDatabase(shared, "n2")
    finder.save(b"key", b"failure")
    other.delete(b"key", b"failure")  # it did not fail in the other shard
    other.move(b"key", b"key.secondary", b"failure")
    assert list(KeyedDatabase(shared, "n2").fetch(b"key")) == [b"failure"]
    assert list(KeyedDatabase(shared, "n2").fetch(b"key.secondary")) == [b"failure"]
