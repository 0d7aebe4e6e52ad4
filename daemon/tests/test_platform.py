"""Platforms and hypervisor: /v1/info names the hypervisor with the accelerator and version
(QEMU/TCG 7.2.0; Xen in tests/xen/xen_ukd.sh); an image labelled org.uk.platform=pvh (the PVH
kernel by its own name) loads and runs as kvm does; one labelled for another platform (hosted)
loads but is refused at start with 400 naming it, and nothing runs."""
import hashlib
import io
import json
import os
import re
import tarfile

from ukdtest import HERE, check, run, wait_until

GUEST = os.path.join(HERE, "guest")
PLATFORM = "org.uk.platform"


def relabel(saved, platform, tag):
    """The OCI layout tar (saved) with its image's platform label and annotation set to
    (platform) and its tag to (tag): a new config and manifest, the layer unchanged."""
    src = tarfile.open(fileobj=io.BytesIO(saved))
    files = {m.name: src.extractfile(m).read() for m in src.getmembers() if m.isfile()}

    def blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        files["blobs/sha256/" + digest[7:]] = data
        return {"digest": digest, "size": len(data)}

    index = json.loads(files["index.json"])
    desc = index["manifests"][0]
    manifest = json.loads(files["blobs/sha256/" + desc["digest"][7:]])
    config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"][7:]])
    config["config"]["Labels"][PLATFORM] = platform
    manifest["config"].update(blob(json.dumps(config).encode()))
    manifest.setdefault("annotations", {})[PLATFORM] = platform
    desc.update(blob(json.dumps(manifest).encode()))
    for key in desc.get("annotations", {}):  # the OCI and containerd names
        desc["annotations"][key] = tag
    files.pop("manifest.json", None)  # Docker's index: not read when oci-layout is there
    files["index.json"] = json.dumps(index).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def main(d):
    # QEMU's version is known once libvirt's (background) probe of QEMU is done; before, the
    # hypervisor reads "QEMU/TCG" alone
    wait_until(lambda: d.req("GET", "/v1/info").json()["backend"]["probe"] == "ready", 120,
               "libvirt's probe of QEMU")
    b = d.req("GET", "/v1/info").json()["backend"]
    accel = "KVM" if b["accelerator"] == "kvm" else "TCG"
    check(re.fullmatch(r"QEMU/%s \d+\.\d+\.\d+" % accel, b.get("hypervisor", "")),
          "info's hypervisor %r, want QEMU/%s and QEMU's version" % (b.get("hypervisor"), accel))
    d.build_ok(GUEST, "uktest")
    r = d.req("GET", "/v1/images/uktest/get")
    check(r.status == 200, "save uktest: %r" % r)
    saved = r.body
    for platform in ("pvh", "hosted"):
        tag = "plat-" + platform
        r = d.req("POST", "/v1/images/load", body=relabel(saved, platform, tag),
                  headers={"Content-Type": "application/x-tar"})
        check(r.status == 200, "load the %s image: %r" % (platform, r))
        img = d.req("GET", "/v1/images/%s" % tag)
        check(img.status == 200 and img.json().get("platform") == platform,
              "the loaded image's platform: %r" % img)
        d.create(image=tag, name=platform, cmd=["exit", "5"])
        if platform == "pvh":
            d.post("/v1/instances/pvh/start")
            code = d.wait("pvh")
            check(code == 5, "the pvh image ran with exit %r, want 5" % code)
            check("uktest says hello" in d.logs("pvh"), "pvh: no greeting in its logs")
        else:
            r = d.req("POST", "/v1/instances/hosted/start")
            check(r.status == 400 and "built for platform hosted" in r.json().get("message", ""),
                  "start of a hosted image: want 400 naming the platform, got %r" % r)
            st = d.inspect("hosted")["state"]
            check(st["status"] == "created", "the refused instance's state: %s" % st)


run(main)
