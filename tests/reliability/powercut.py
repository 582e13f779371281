"""Power-cut simulation around powercut_shim.c: the environment that loads the shim into
`salespipe serve`, and `roll_back`, which after the SIGKILL replaces every file the process
changed with its content as of its last fsync (what a power loss leaves on a disk that honours
fsync). See the shim's header for the model and its limits."""
import os

SHIM = os.environ.get("POWERCUT_SHIM") or next(
    (p for p in (os.path.join(os.path.dirname(__file__), "..", "..", b, "libpowercut_shim.so")
                 for b in ("build-asan", "build")) if os.path.exists(p)), None)


def shim_env(data_dir, shadow_dir):
    """Environment variables for a server whose writes under data_dir are journalled."""
    os.makedirs(shadow_dir, exist_ok=True)
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {
        "LD_PRELOAD": os.path.abspath(SHIM),
        "POWERCUT_DIR": os.path.realpath(data_dir),
        "POWERCUT_SHADOW": os.path.realpath(shadow_dir),
        # The shim comes before the ASan runtime in the library list, which ASan checks.
        "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0",
    }


def roll_back(shadow_dir):
    """Call after SIGKILL. Returns {"files": n, "changed": files whose content differed from
    the durable one, "bytes_dropped": size difference summed}."""
    stats = {"files": 0, "changed": 0, "bytes_dropped": 0}
    for name in sorted(os.listdir(shadow_dir)):
        if not name.endswith(".path"):
            continue
        stem = name[:-5]
        dev, ino = (int(x) for x in stem.split("-"))
        with open(os.path.join(shadow_dir, name)) as f:
            path = f.read()
        data_path = os.path.join(shadow_dir, stem + ".data")
        if not os.path.exists(data_path):
            continue  # never changed by the process: the file is as it was
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if (st.st_dev, st.st_ino) != (dev, ino):
            continue  # a stale entry: the name now belongs to another file
        with open(data_path, "rb") as f:
            durable = f.read()
        with open(path, "rb") as f:
            current = f.read()
        stats["files"] += 1
        if current != durable:
            stats["changed"] += 1
            stats["bytes_dropped"] += len(current) - len(durable)
            with open(path, "r+b") as f:  # in place: the inode stays the same
                f.write(durable)
                f.truncate(len(durable))
    return stats
