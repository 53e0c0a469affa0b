"""Conditional, update and versioned writes on the in-memory DynamoDB: routing and failures."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from dynamap import (
    ConditionFailedError,
    DynamapError,
    Model,
    PartitionKey,
    RetryPolicy,
    StaleDataError,
    TransportError,
    UnprocessedError,
    Version,
)
from tests.support.fake import FakeDynamo
from tests.unit.session.helpers import session


class Counter(Model, table="counters"):
    pk: Annotated[str, PartitionKey()]
    n: int = 0
    label: str = ""


class Page(Model, table="pages"):
    pk: Annotated[str, PartitionKey()]
    body: str = ""
    version: Annotated[int, Version()] = 0


P = Counter.path


def make() -> FakeDynamo:
    return FakeDynamo({"counters": ("pk",), "pages": ("pk",)})


def lost() -> TransportError:
    return TransportError(TransportError.NO_ANSWER, "read timeout")


def test_thirty_versioned_changes_go_as_thirty_requests_and_plain_puts_as_two_batches():
    fake = make()
    with session(fake) as s:
        for i in range(30):
            s.put(Counter(pk=f"c{i}"))
            s.put(Page(pk=f"p{i}"))
    assert len(fake.ops("BatchWriteItem")) == 2  # the 30 plain puts
    assert len(fake.ops("PutItem")) == 30  # the versioned ones: create-only, one by one
    with session(fake) as s:
        pages = [s.get(Page, f"p{i}") for i in range(30)]
        s.flush()
        for page in pages:
            loaded = page.result()
            assert loaded is not None
            loaded.body = "edited"
    updates = fake.ops("UpdateItem")
    assert len(updates) == 30
    assert all(
        u["ConditionExpression"] == "attribute_exists(pk) AND version = :v0" for u in updates
    )
    assert {p["version"]["N"] for p in fake.data["pages"].values()} == {"2"}


def test_write_back_put_batches_whole_items():
    fake = make()
    with session(fake) as s:
        for i in range(30):
            s.put(Counter(pk=f"c{i}"))
    with session(fake, write_back="put") as s:
        loaded = [s.get(Counter, f"c{i}") for i in range(30)]
        s.flush()
        for c in loaded:
            c.result().label = "bulk"  # type: ignore[union-attr]
    assert len(fake.ops("BatchWriteItem")) == 4 and fake.ops("UpdateItem") == []


def test_a_failed_condition_with_unprocessed_writes_raises_one_error_with_both():
    fake = make()
    fake.data["counters"][("c",)] = {"pk": {"S": "c"}, "n": {"N": "1"}}
    s = session(fake, retry=RetryPolicy(max_attempts=1))
    fake.withhold = lambda table, item: item["pk"]["S"] == "stuck"
    s.put(Counter(pk="c"), condition=P(lambda c: c.pk).not_exists())
    s.put(Counter(pk="stuck"))
    s.put(Counter(pk="fine"))
    with pytest.raises(ConditionFailedError) as info:
        s.flush()
    error = info.value
    assert [f.current.n for f in error.failures] == [1]
    assert [u.key for u in error.unprocessed] == [{"pk": {"S": "stuck"}}]
    assert error.report.items_failed == 1 and error.report.items_not_done == 1
    assert set(fake.data["counters"]) == {("c",), ("fine",)}
    assert error.resend(s) == 1  # the not-done put; a failed condition is not resent
    fake.withhold = None
    s.flush()
    assert ("stuck",) in fake.data["counters"]


def test_an_increment_whose_answer_was_lost_is_unknown_and_not_resent():
    fake = make()
    s = session(fake)
    s.update_key(Counter, "c", P(lambda c: c.n).add(1))
    fake.errors = [lost()]
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    (doubt,) = info.value.unknown
    assert (doubt.operation, doubt.resendable) == ("update", False)
    assert len(fake.ops("UpdateItem")) == 1  # never sent twice
    assert info.value.resend(s) == 0


def test_a_plain_set_whose_answer_was_lost_is_retried_to_success():
    fake = make()
    fake.data["counters"][("c",)] = {"pk": {"S": "c"}}
    s = session(fake)
    done = s.update_key(Counter, "c", P(lambda c: c.label).set("x"))
    fake.errors = [lost()]
    s.flush()
    assert done.result() is not None and done.result().label == "x"  # type: ignore[union-attr]


def test_a_conditional_put_retried_after_a_lost_answer_that_meets_itself_is_unknown():
    fake = make()
    s = session(fake)
    s.put(Counter(pk="c"), condition=P(lambda c: c.pk).not_exists())

    original = fake.call

    def apply_then_lose(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = original(operation, params)
        if len(fake.ops("PutItem")) == 1:
            raise lost()  # applied, but the answer is lost
        return answer

    fake.call = apply_then_lose  # type: ignore[method-assign]
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    assert [u.operation for u in info.value.unknown] == ["put"]
    assert info.value.failures == []  # not reported as a failed condition: it may be ours


def test_update_merges_unsaved_changes_and_refreshes_the_instance():
    fake = make()
    fake.data["counters"][("c",)] = {"pk": {"S": "c"}, "n": {"N": "5"}, "extra": {"S": "e"}}
    s = session(fake)
    counter = s.get(Counter, "c").result()
    assert counter is not None
    counter.label = "local"
    result = s.update(counter, P(lambda c: c.n).add(2))
    s.flush()
    (params,) = fake.ops("UpdateItem")
    assert params["UpdateExpression"] == "SET label = :v0 ADD n :v1"
    assert params["ReturnValues"] == "ALL_NEW"
    assert result.result() is counter and (counter.n, counter.label) == (7, "local")
    assert s.flush().requests == 0


def test_a_stale_delete_and_the_version_of_a_failed_write_stays():
    fake = make()
    with session(fake) as s:
        s.put(Page(pk="p"))
    s = session(fake)
    page = s.get(Page, "p").result()
    assert page is not None and page.version == 1
    fake.data["pages"][("p",)]["version"] = {"N": "7"}  # another writer
    s.delete(page)
    with pytest.raises(StaleDataError) as info:
        s.flush()
    assert info.value.failures[0].current.version == 7
    assert page.version == 1 and ("p",) in fake.data["pages"]


def test_updating_the_version_yourself_is_refused():
    s = session(make())
    with pytest.raises(DynamapError, match="Version"):
        s.update(Page(pk="p"), Page.path(lambda p: p.version).set(3))


class Interrupting(FakeDynamo):
    def __init__(self, *args: Any, exc: BaseException, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exc = exc

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "UpdateItem" and len(self.ops("UpdateItem")) == 0:
            self.calls.append((operation, params))
            raise self.exc
        return super().call(operation, params)


def test_an_interrupt_keeps_unsent_single_writes_pending_but_not_an_unclear_increment():
    fake = Interrupting({"counters": ("pk",), "pages": ("pk",)}, exc=KeyboardInterrupt())
    s = session(fake)
    first = s.update_key(Counter, "a", P(lambda c: c.n).add(1))  # interrupted in flight
    s.update_key(Counter, "b", P(lambda c: c.n).add(1))  # never sent
    with pytest.raises(KeyboardInterrupt):
        s.flush()
    with pytest.raises(DynamapError, match="may or may not have been applied"):
        first.result()
    s.flush()
    assert fake.data["counters"][("b",)]["n"] == {"N": "1"}
    assert ("a",) not in fake.data["counters"]  # the unclear increment was not re-sent


def _write_back_not_done(fake: FakeDynamo) -> tuple[Any, Counter, UnprocessedError]:
    """A loaded Counter whose label change was throttled away (handed back, not done)."""
    with session(fake) as s:
        s.put(Counter(pk="a", label="x"))
    s = session(fake, retry=RetryPolicy(max_attempts=1))
    loaded = s.get(Counter, "a")
    s.flush()
    c = loaded.result()
    assert c is not None
    c.label = "y"
    fake.errors = [TransportError("ProvisionedThroughputExceededException", "slow", 400)]
    with pytest.raises(UnprocessedError) as caught:
        s.flush()
    return s, c, caught.value


def test_resent_write_back_does_not_recreate_an_item_deleted_meanwhile():
    fake = make()
    s, _, error = _write_back_not_done(fake)
    fake.data["counters"].clear()  # another session deletes the item
    assert error.resend(s) == 1
    with pytest.raises(ConditionFailedError) as caught:
        s.flush()
    assert caught.value.failures[0].current is None
    assert fake.data["counters"] == {}  # no fragment {pk, label}


def test_resent_write_back_sends_the_instance_as_it_is_at_the_next_flush():
    fake = make()
    s, c, error = _write_back_not_done(fake)
    c.label = "z"  # changed again before resending
    error.resend(s)
    s.flush()
    assert c.label == "z"
    assert fake.data["counters"][("a",)]["label"] == {"S": "z"}


def test_a_change_made_after_resending_a_write_back_is_written_too():
    fake = make()
    s, c, error = _write_back_not_done(fake)
    assert error.resend(s) == 1
    c.label = "w"  # after resend, before the flush: the flush writes the state it finds
    s.flush()
    assert fake.data["counters"][("a",)]["label"] == {"S": "w"}
    sent = len(fake.ops("UpdateItem"))
    s.flush()
    assert len(fake.ops("UpdateItem")) == sent  # written, and then unchanged: nothing more


def test_interrupted_versioned_write_back_is_not_resent_with_a_stale_expectation():
    fake = make()
    with session(fake) as s:
        s.put(Page(pk="a", body="x"))
    s = session(fake)
    loaded = s.get(Page, "a")
    s.flush()
    page = loaded.result()
    assert page is not None
    page.body = "y"
    send = fake.call

    def applied_then_interrupted(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        fake.call = send  # type: ignore[method-assign]
        send(operation, params)  # applied, but the answer never comes
        raise KeyboardInterrupt

    fake.call = applied_then_interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        s.flush()
    s.flush()  # the key is forgotten, as for a queued versioned write: nothing resent
    assert len(fake.ops("UpdateItem")) == 1
    assert fake.data["pages"][("a",)]["version"] == {"N": "2"}


def test_resending_a_write_back_over_a_changed_reloaded_instance_is_refused():
    fake = make()
    s, c, error = _write_back_not_done(fake)
    again = s.get(Counter, "a").result()  # the key was forgotten: a new instance
    assert again is not None and again is not c
    again.label = "other"
    with pytest.raises(DynamapError, match="tracked and changed; resend refused"):
        error.resend(s)
    s.flush()
    assert fake.data["counters"][("a",)]["label"] == {"S": "other"}
