"""moto_server as the tools start it for an emulator environment (`make emulator`): moto's own server, with the
patches shared/emulator_quirks.py lists (PATCHES) applied first. Each corrects moto where it breaks what the tools
or their tests rely on; tests/shared/test_moto_server.py shows each still needed, so that a moto release that fixes
it tells us to drop it. Run as a file (its path names moto_server, which is how a running emulator is recognised).
"""

from __future__ import annotations

import sys


def sign_requests_without_a_body_as_sent() -> None:
    """moto checks a request's signature against the parameters it parsed, posing as a body: a REST GET or DELETE
    (AWS Backup's DescribeBackupVault, say) then never matches once IAM is enforced. Sign what was sent."""
    from botocore.awsrequest import AWSRequest
    from moto.iam import access_control

    original = access_control.IAMRequestBase._create_aws_request

    def create_aws_request(self) -> AWSRequest:
        if self._body or self._method not in ("GET", "HEAD", "DELETE"):
            return original(self)
        signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
        headers = self._create_headers_for_aws_request(signed, self._headers)
        request = AWSRequest(method=self._method, url=self._path, data=b"", headers=headers)
        request.context["timestamp"] = headers["X-Amz-Date"]
        return request

    access_control.IAMRequestBase._create_aws_request = create_aws_request


PATCHES = {"sign_requests_without_a_body_as_sent": sign_requests_without_a_body_as_sent}


def main(argv: list[str] | None = None) -> None:
    from shared.emulator_quirks import PATCHED

    for patch in PATCHED:
        PATCHES[patch.applied_by]()
    from moto.server import main as serve

    serve(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
