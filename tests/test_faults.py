"""The network between the engine and AWS drops for seconds in the middle of an apply, on the real engine
against the emulator (a proxy between them, tests/support/fault_proxy.py): the engine retries through
it or fails, and either way the state and the emulator agree, the summary names the stack and the step,
and a rerun converges. One stack (network) is enough to show it and costs a minute, not a pipeline;
the other real faults share the end-to-end test's deployment (tests/test_e2e.py, faults_are_survived).
"""

from __future__ import annotations

import os
import re
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.support.fault_proxy import FaultProxy

pytestmark = pytest.mark.e2e

DROP_SECONDS = 8


@pytest.fixture
def proxied(pipeline):
    """The pipeline's engine and tools reach the emulator only through the proxy; the test itself reads the
    emulator directly (pipeline.aws)."""
    proxy = FaultProxy(urlsplit(pipeline.endpoint).port)
    config = pipeline.repo / "environments" / "local.yaml"
    config.write_text(config.read_text().replace(pipeline.endpoint, f"http://127.0.0.1:{proxy.port}"))
    try:
        yield pipeline, proxy
    finally:
        proxy.close()


def test_the_network_drops_during_an_apply_and_the_state_still_tells_the_truth(proxied, capsys, record_property):
    pipeline, proxy = proxied
    started = time.monotonic()
    log: list[str] = []

    def step(text: str) -> None:
        log.append(f"faults {time.monotonic() - started:6.1f} s  {text}")
        record_property("e2e", "\n".join(log))
        if not os.environ.get("PYTEST_XDIST_WORKER"):
            with capsys.disabled():
                print(f"\n  {log[-1]}", end="", flush=True)

    step("bootstrap through the proxy")
    pipeline.make("bootstrap", "ENV=local")

    step(f"deploy the network stack; the network drops for {DROP_SECONDS} s once the subnets are being created")
    proc = pipeline.start("make", "deploy", "ENV=local", "STACK=network", session=False)
    lines, timer = [], None
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if timer is None and re.search(r"aws_subnet\.\w+: Creating\.\.\.", line):
            proxy.drop()
            timer = threading.Timer(DROP_SECONDS, proxy.restore)
            timer.start()
    code = proc.wait(timeout=600)
    output = "".join(lines)
    pipeline.transcript.append(output)
    assert timer is not None, f"never saw a subnet being created:\n{output[-3000:]}"
    timer.join()
    assert proxy.refused > 0, "nothing was refused: the drop came too late to matter"
    if code == 0:
        step(f"the engine retried through the drop ({proxy.refused} connections refused)")
        assert re.search(r"network-local +applied", output), output[-3000:]
    else:
        step(f"the engine failed during the drop ({proxy.refused} connections refused)")
        assert re.search(r"network-local +failed", output) and "(apply)" in output, output[-3000:]

    step("the state and the emulator agree: every network resource the emulator holds is in the state")
    resources = pipeline.state("network-local")[1]["resources"]
    held = {i["attributes"]["id"] for r in resources if r["mode"] == "managed" for i in r["instances"]}
    ec2 = pipeline.aws("ec2")
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:environment", "Values": ["local"]}])["Vpcs"]]
    inside = [{"Name": "vpc-id", "Values": vpcs}]
    found = set(vpcs)
    found |= {s["SubnetId"] for s in ec2.describe_subnets(Filters=inside)["Subnets"]}
    found |= {
        g["GroupId"]
        for g in ec2.describe_security_groups(Filters=inside)["SecurityGroups"]
        if g["GroupName"] != "default"
    }
    found |= {
        t["RouteTableId"]
        for t in ec2.describe_route_tables(Filters=inside)["RouteTables"]
        if not any(a.get("Main") for a in t.get("Associations", []))
    }
    assert found - held == set(), f"in the emulator but not in the state (orphaned by the drop): {found - held}"

    step("a rerun converges")
    pipeline.make("deploy", "ENV=local", "STACK=network")
    pipeline.make("plan", "ENV=local", "STACK=network")
    changes = pipeline.planned_changes("plan")
    assert changes == set(), f"after the rerun a plan still changes {changes}"
    step(f"done: wall time {time.monotonic() - started:.0f} s")  # the emulator is this test's own: no destroy
