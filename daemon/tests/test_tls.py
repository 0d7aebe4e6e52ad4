"""ukd's TLS API and unix socket: client certificates (none, wrong CA, expired, read-only, right),
the real uk CLI over TLS, refusing a plain non-loopback listener, the socket's mode and group."""
import grp
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile

import ukdtest
from ukdtest import check, fail, free_port

MAKE_CERTS = os.path.join(ukdtest.SRC, "deploy", "make-certs.sh")


def sh(*argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)
    if r.returncode != 0:
        fail("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr))
    return r


def make_expired(ca_dir, out):
    """A client certificate signed by the right CA whose dates lie in 2020 (openssl ca: this
    OpenSSL's x509 has no -not_after)."""
    os.makedirs(os.path.join(out, "new"))
    open(os.path.join(out, "index.txt"), "w").close()
    with open(os.path.join(out, "serial"), "w") as f:
        f.write("1000\n")
    cnf = os.path.join(out, "ca.cnf")
    with open(cnf, "w") as f:
        f.write("[ca]\ndefault_ca = c\n[c]\ndatabase = %s/index.txt\nnew_certs_dir = %s/new\n"
                "serial = %s/serial\ndefault_md = sha256\npolicy = p\nx509_extensions = ext\n"
                "[p]\ncommonName = supplied\norganizationName = optional\n"
                "[ext]\nextendedKeyUsage = clientAuth\nkeyUsage = critical,digitalSignature\n"
                % (out, out, out))
    key, csr = os.path.join(out, "key.pem"), os.path.join(out, "csr.pem")
    sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-out", key)
    sh("openssl", "req", "-new", "-key", key, "-subj", "/O=uk/CN=expired", "-out", csr)
    sh("openssl", "ca", "-batch", "-notext", "-config", cnf, "-cert",
       os.path.join(ca_dir, "ca.pem"), "-keyfile", os.path.join(ca_dir, "ca-key.pem"), "-in",
       csr, "-out", os.path.join(out, "cert.pem"), "-startdate", "20200101000000Z", "-enddate",
       "20200102000000Z")
    shutil.copy(os.path.join(ca_dir, "ca.pem"), os.path.join(out, "ca.pem"))


def certs(tmp):
    """ca/ (CA, server, clients admin and ro), wrong/ (another CA and its client), expired/."""
    ca, wrong = os.path.join(tmp, "ca"), os.path.join(tmp, "wrong")
    sh(MAKE_CERTS, "all", ca, "IP:127.0.0.1", "DNS:localhost")
    sh(MAKE_CERTS, "client", ca, "ro", "readonly")
    sh(MAKE_CERTS, "all", wrong, "IP:127.0.0.1")
    make_expired(ca, os.path.join(tmp, "expired"))
    for name in ("key.pem", "ca-key.pem", "clients/admin/key.pem"):
        mode = os.stat(os.path.join(ca, name)).st_mode & 0o777
        check(mode == 0o600, "make-certs.sh left %s mode %o, want 0600" % (name, mode))
    r = subprocess.run([MAKE_CERTS, "ca", ca], capture_output=True, text=True)
    check(r.returncode != 0 and "not overwriting" in r.stderr,
          "make-certs.sh overwrote an existing CA: %d %s" % (r.returncode, r.stderr))
    return ca, wrong


def https(port, ca, client=None, method="GET", path="/v1/_ping", body=None):
    """(status, body) of one HTTPS request; the server is verified against (ca)."""
    ctx = ssl.create_default_context(cafile=ca)
    if client:
        ctx.load_cert_chain(os.path.join(client, "cert.pem"), os.path.join(client, "key.pem"))
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    try:
        c.request(method, path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        c.close()


def refused(port, ca, client, want):
    """The request with (client)'s certificate must not get through; 403 names (want)."""
    try:
        status, body = https(port, ca, client)
    except (ssl.SSLError, ConnectionError) as e:
        return "handshake: %s" % e  # refusing the handshake is fine too
    check(status == 403 and want in body,
          "client %s: expected 403 mentioning %r, got %d %s" % (client, want, status, body))
    return body


def test_refuse_plain(ukd, tmp, ca):
    """Exposed without TLS, bad TLS files, unknown group: exit 2 with a clear message, no
    listener."""
    port = free_port()
    root = tempfile.mkdtemp(prefix="ukt-", dir="/tmp")
    cases = [
        (["--host", "tcp://0.0.0.0:%d" % port], "not loopback"),
        (["--host", "tcp://127.0.0.1:%d" % port, "--tlsverify", "--tlscacert",
          os.path.join(tmp, "none.pem"), "--tlscert", os.path.join(ca, "cert.pem"),
          "--tlskey", os.path.join(ca, "key.pem")], "none.pem"),
        (["--host", "tcp://127.0.0.1:%d" % port, "--tlsverify", "--tlscacert",
          os.path.join(ca, "ca.pem"), "--tlscert", os.path.join(ca, "index.txt.none"),
          "--tlskey", os.path.join(ca, "key.pem")], "index.txt.none"),
        (["--host", "unix://%s/s.sock" % root, "--group", "no-such-group-uk"],
         "no-such-group-uk"),
    ]
    try:
        for args, want in cases:
            r = subprocess.run([ukd, "--root", root, *args], capture_output=True, text=True,
                               timeout=60)
            check(r.returncode == 2 and want in r.stderr,
                  "ukd %s: expected exit 2 naming %r, got %d: %s"
                  % (" ".join(args), want, r.returncode, r.stderr))
            s = socket.socket()
            listening = s.connect_ex(("127.0.0.1", port)) == 0
            s.close()
            check(not listening, "ukd %s listened on port %d" % (" ".join(args), port))
        check(not os.path.exists(os.path.join(root, "ukd.db")),
              "a refused ukd still created its store under %s" % root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_socket(d, group):
    st = os.stat(d.sock)
    check(st.st_mode & 0o777 == 0o660, "socket mode %o, want 0660" % (st.st_mode & 0o777))
    check(st.st_gid == group.gr_gid,
          "socket group %d, want %s (%d)" % (st.st_gid, group.gr_name, group.gr_gid))
    r = d.req("DELETE", "/v1/instances/no-such-instance")
    check(r.status == 404, "DELETE of a missing instance: %r" % r)
    d.logf.flush()
    with open(d.log) as f:
        log = f.read()
    want = "DELETE /v1/instances/no-such-instance by pid %d uid %d gid %d" % (
        os.getpid(), os.getuid(), os.getgid())
    check(want in log, "peer credentials not logged (%r)" % want)


def test_clients(d, port, tmp, ca, wrong):
    admin, ro = os.path.join(ca, "clients", "admin"), os.path.join(ca, "clients", "ro")
    cafile = os.path.join(ca, "ca.pem")
    check(https(port, cafile, admin) == (200, "OK"), "the right certificate was refused")
    refused(port, cafile, None, "certificate required")
    refused(port, cafile, os.path.join(wrong, "clients", "admin"), "refused")
    body = refused(port, cafile, os.path.join(tmp, "expired"), "refused")
    check("expired" in body, "an expired certificate's 403 does not say so: %s" % body)
    # read-only: reads work, a change is refused before any route runs
    check(https(port, cafile, ro, path="/v1/instances")[0] == 200, "read-only client: GET")
    status, body = https(port, cafile, ro, "POST", "/v1/instances", b'{"image":"x"}')
    check(status == 403 and "read-only" in body, "read-only POST: %d %s" % (status, body))
    # a large upload is refused on its headers alone, before the client sends the body
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.load_cert_chain(os.path.join(ro, "cert.pem"), os.path.join(ro, "key.pem"))
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                         server_hostname="127.0.0.1") as s:
        s.sendall(b"POST /v1/images/build?t=x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                  b"Content-Type: application/x-tar\r\n\r\n" % (3 << 30))
        head = b""
        while b"read-only" not in head:  # the answer ends with the connection (close)
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        head = head.decode(errors="replace")
    check(head.startswith("HTTP/1.1 403") and "read-only" in head,
          "read-only 3 GiB build was not refused on its headers: %r" % head)
    status, body = https(port, cafile, admin, "DELETE", "/v1/instances/nope")
    check(status == 404, "admin DELETE of a missing instance: %d %s" % (status, body))
    d.logf.flush()
    with open(d.log) as f:
        check("DELETE /v1/instances/nope by CN=admin,O=uk" in f.read(),
              "the TLS client's subject was not logged on a mutating call")
    # plain HTTP to the TLS port gets no answer
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/v1/_ping")
        r = c.getresponse()
        fail("plain HTTP to the TLS port answered %d" % r.status)
    except (http.client.HTTPException, ConnectionError, socket.timeout):
        pass
    finally:
        c.close()


def test_cli(uk, port, tmp, ca, wrong):
    host = "tcp://127.0.0.1:%d" % port
    admin = os.path.join(ca, "clients", "admin")
    env = dict(os.environ, HOME=tmp)
    for k in ("UK_HOST", "UK_TLS_VERIFY", "UK_CERT_PATH"):
        env.pop(k, None)

    def uk_run(*args, extra=None):
        e = dict(env, **(extra or {}))
        return subprocess.run([uk, *args], capture_output=True, text=True, timeout=60, env=e)

    flags = ["--tlsverify", "--tlscacert", os.path.join(admin, "ca.pem"), "--tlscert",
             os.path.join(admin, "cert.pem"), "--tlskey", os.path.join(admin, "key.pem")]
    r = uk_run("-H", host, *flags, "ps")
    check(r.returncode == 0 and "INSTANCE ID" in r.stdout, "uk --tlsverify ps: %r" % (r,))
    r = uk_run("-H", host, *flags, "version")
    check(r.returncode == 0 and "Server" in r.stdout, "uk --tlsverify version: %r" % (r,))
    r = uk_run("ps", extra={"UK_HOST": host, "UK_TLS_VERIFY": "1", "UK_CERT_PATH": admin})
    check(r.returncode == 0, "UK_TLS_VERIFY=1 UK_CERT_PATH=... uk ps: %r" % (r,))
    # the default certificate directory is ~/.uk
    shutil.copytree(admin, os.path.join(tmp, ".uk"))
    r = uk_run("-H", host, "--tlsverify", "ps")
    check(r.returncode == 0, "uk --tlsverify ps with ~/.uk: %r" % (r,))
    shutil.rmtree(os.path.join(tmp, ".uk"))
    r = uk_run("-H", host, "--tlsverify", "ps")
    check(r.returncode == 1 and ".uk/ca.pem" in r.stderr,
          "uk --tlsverify without certificates: %r" % (r,))
    # a client from the wrong CA is refused by ukd; a daemon the CA did not sign, by uk
    w = os.path.join(wrong, "clients", "admin")
    r = uk_run("ps", extra={"UK_HOST": host, "UK_TLS_VERIFY": "1", "UK_CERT_PATH": w})
    check(r.returncode == 1 and "TLS" in r.stderr, "uk with the wrong CA: %r" % (r,))
    r = uk_run("-H", host, "ps")
    check(r.returncode == 1, "uk without TLS to the TLS port: %r" % (r,))
    ro = os.path.join(ca, "clients", "ro")
    r = uk_run("build", "-t", "x", os.path.join(ukdtest.SRC, "images", "examples", "hello"),
               extra={"UK_HOST": host, "UK_TLS_VERIFY": "1", "UK_CERT_PATH": ro})
    # people's words: the reason, without the HTTP status (issue 16)
    check(r.returncode == 1 and "read-only" in r.stderr and "status 403" not in r.stderr,
          "uk build as a read-only client: %r" % (r,))
    r = uk_run("-H", host, "--tlsverify", "--tlscacert", os.path.join(admin, "ca.pem"),
               "--tlscert", os.path.join(admin, "cert.pem"), "ps")
    check(r.returncode == 1 and "--tlskey" in r.stderr, "uk --tlscert without a key: %r" % (r,))


class State:
    """What setup made for the checks that run against the daemon."""
    tmp = ca = wrong = None
    port = 0
    group = None


def setup():
    """Certificates, the refusals that need no daemon, and the TLS daemon's arguments."""
    st = State
    st.tmp = tempfile.mkdtemp(prefix="ukt-tls-", dir="/tmp")
    st.ca, st.wrong = certs(st.tmp)
    test_refuse_plain(sys.argv[1], st.tmp, st.ca)
    st.port = free_port()
    return ["--host", "tcp://127.0.0.1:%d" % st.port, "--tlsverify",
            "--tlscacert", os.path.join(st.ca, "ca.pem"),
            "--tlscert", os.path.join(st.ca, "cert.pem"),
            "--tlskey", os.path.join(st.ca, "key.pem"), "--group", st.group.gr_name]


def checks(d):
    st = State
    test_socket(d, st.group)
    test_clients(d, st.port, st.tmp, st.ca, st.wrong)
    test_cli(sys.argv[2], st.port, st.tmp, st.ca, st.wrong)
    shutil.rmtree(st.tmp, ignore_errors=True)  # kept for a look when a check failed


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: %s PATH/TO/ukd PATH/TO/uk" % sys.argv[0])
    if not shutil.which("openssl"):
        ukdtest.skip("openssl is not installed: cannot make certificates")
    State.group = next((g for g in grp.getgrall() if g.gr_gid != os.getgid()), None)
    if State.group is None:
        ukdtest.skip("no group other than our own to give the socket to")
    ukdtest.run(checks, setup)
