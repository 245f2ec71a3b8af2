"""Real servers on 127.0.0.1 for the remote tests: OpenSSH's sshd and an S3-compatible server.

`SSHServer` runs the system's `sshd` in the foreground on a free loopback port with a
throw-away host key and a throw-away client key, serving SFTP for the current user.
`S3Server` runs moto's server mode, which speaks the S3 HTTP protocol (objects in memory).

sshd is Debian's `openssh-server`, which `.ci/run` installs where missing; moto is a pinned dev
dependency (`make env`). Without sshd, the SSH tests fail in CI (`CI` set) and skip loudly
elsewhere (`require_sshd`).
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)


def require_sshd(found: str | None = SSHD) -> str:
    """`found` (the sshd binary); without one, fail in CI and skip with a warning elsewhere."""
    if found:
        return found
    message = (
        "no sshd on PATH or at /usr/sbin/sshd: the SSH remote tests did NOT run; install "
        "Debian's `openssh-server` (`.ci/run` does)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(
    argv: list[str], log: Path, port: int, what: str, timeout: float = 30, env=None
) -> subprocess.Popen:
    """Start a server logging to `log` (never a pipe nobody reads) and wait for its port."""
    with open(log, "w") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "msm-test", "-f", str(path)],
        check=True,
    )


class SSHServer:
    """sshd on 127.0.0.1:<port>; `host_line`: its known_hosts entry; `client_key`: a login key."""

    def __init__(self, folder: Path):
        sshd = require_sshd()
        self.folder = folder
        self.port = free_port()
        self.user = getpass.getuser()
        self.host_key = folder / "host_ed25519"
        self.client_key = folder / "client_ed25519"
        keygen(self.host_key)
        keygen(self.client_key)
        authorized = folder / "authorized_keys"
        shutil.copyfile(f"{self.client_key}.pub", authorized)
        authorized.chmod(0o600)
        config = folder / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    f"PidFile {folder / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "PubkeyAuthentication yes",
                    # password logins are offered so that a wrong password is refused by
                    # the server itself; no password set here is ever right
                    "PasswordAuthentication yes",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin yes",
                    "UsePAM no",
                    "StrictModes no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:
            # sshd run as root needs its privilege-separation folder (the service creates it)
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.log = folder / "sshd.log"
        self.proc = start([sshd, "-D", "-e", "-f", str(config)], self.log, self.port, "sshd")
        pub = Path(f"{self.host_key}.pub").read_text().split()
        self.host_line = f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}\n"

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        stop(self.proc)


class S3Server:
    """moto's S3-compatible server on 127.0.0.1:<port>; `endpoint` is its URL.

    It checks credentials as S3 does: the first three calls (unauthenticated) create an IAM user,
    its access key and a policy allowing S3; every later call must be signed with that key, so a
    wrong secret is refused (SignatureDoesNotMatch) as a real bucket would refuse it."""

    def __init__(self, folder: Path) -> None:
        import boto3

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = folder / "s3.log"
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
        self.proc = start(argv, self.log, self.port, "moto S3 server", env=env)
        iam = boto3.client(
            "iam", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="setup", aws_secret_access_key="setup",
        )  # fmt: skip
        iam.create_user(UserName="msm")
        key = iam.create_access_key(UserName="msm")["AccessKey"]
        allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        policy = {"Version": "2012-10-17", "Statement": [allow]}
        iam.put_user_policy(UserName="msm", PolicyName="s3", PolicyDocument=json.dumps(policy))
        self.ACCESS_KEY, self.SECRET_KEY = key["AccessKeyId"], key["SecretAccessKey"]

    def client(self):  # a boto3 S3 client
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
            region_name="us-east-1",
        )

    def close(self) -> None:
        stop(self.proc)
