"""serve's supervisor without Django's doors: children that die are
reported, then started again with a growing delay."""

import json
import sys
import time

from config.supervisor import Child, Supervisor, describe_exit, read_status


def _wait(predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_child_that_dies_is_reported_then_restarted_with_a_growing_delay(tmp_path):
    status = tmp_path / "status.json"
    dying = Child("dying", [sys.executable, "-c", "raise SystemExit(3)"])
    supervisor = Supervisor([dying], status, backoff_seconds=0.01)
    supervisor.start_all()
    for _ in range(3):
        _wait(lambda: (supervisor.poll(), dying.restart_at is not None)[1])
        assert read_status(str(status))["dying"] == {
            "pid": None,
            "state": "restarting",
            "restarts": dying.restarts,
            "last_exit": "exit code 3",
        }
        _wait(lambda: (supervisor.poll(), dying.restart_at is None)[1])
    assert dying.restarts == 3 and dying.failures_in_a_row == 3
    assert [supervisor.delay(n) for n in (1, 2, 3, 20)] == [0.01, 0.02, 0.04, 30.0]
    supervisor.stop_all()
    assert not status.exists()


def test_a_status_file_whose_supervisor_is_gone_is_ignored(tmp_path):
    status = tmp_path / "status.json"
    status.write_text(json.dumps({"supervisor_pid": 2**22 + 12345, "children": {"web": {"state": "running"}}}))
    assert read_status(str(status)) is None


def test_exits_are_described_by_their_signal():
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(1) == "exit code 1"
