"""Bad input to tsgpt_torch.train: each case is one clear error before any training step.

Needs a tsgpt run directory to damage copies of: TSGPT_TEST_RUN=<run dir> (the node test
test/train/ddp_roundtrip.test.ts makes one with `tsgpt train` and runs this file).

    TSGPT_TEST_RUN=runs/tiny /usr/bin/python3 -m unittest discover -s python/tests -t python
"""
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import unittest
from unittest import mock

import numpy as np

from tsgpt_torch import train
from tsgpt_torch.rng import Generator

RUN = os.environ.get("TSGPT_TEST_RUN")


def rewrite_checksum(ckpt, name):
    """After editing ``name`` in a checkpoint, records its new sha256 so only the edit itself is wrong.

    The rewritten trainer_state.json has no state_sha256: it reads as a state from before that
    field, whose fields are checked one by one (what these cases test).
    """
    path = os.path.join(ckpt, "trainer_state.json")
    with open(path) as fh:
        state = json.load(fh)
    state.pop("state_sha256", None)
    with open(os.path.join(ckpt, name), "rb") as fh:
        state["files"][name] = hashlib.sha256(fh.read()).hexdigest()
    with open(path, "w") as fh:
        json.dump(state, fh)


def edit_json(path, change, keep_checksum=False):
    """Edits a JSON file; a trainer_state.json loses its state_sha256 unless keep_checksum (see above)."""
    with open(path) as fh:
        obj = json.load(fh)
    change(obj)
    if not keep_checksum:
        obj.pop("state_sha256", None)
    with open(path, "w") as fh:
        json.dump(obj, fh)


def snapshot(run):
    """What training would change: the directory listing and the log."""
    with open(os.path.join(run, "log.jsonl"), "rb") as fh:
        return sorted(os.listdir(run)), fh.read()


class RngMatchesNumpy(unittest.TestCase):
    def test_seeded_stream_is_numpys_randomstate(self):
        # numpy's RandomState(seed) is MT19937 seeded by init_genrand, as tsgpt seeds its streams.
        for seed in (0, 1337, 2**32 - 1):
            g, ref = Generator(seed), np.random.RandomState(seed)
            self.assertEqual([g.next_uint32() for _ in range(1000)], ref.randint(0, 2**32, size=1000, dtype=np.uint64).tolist())


@unittest.skipUnless(RUN, "set TSGPT_TEST_RUN to a tsgpt run directory (the node test ddp_roundtrip does)")
class BadInput(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tsgpt-torch-bad-")
        self.run_dir = os.path.join(self.tmp, "run")
        shutil.copytree(RUN, self.run_dir)
        self.ckpt = os.path.join(self.run_dir, "last")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_refused(self, pattern, env=None, steps="1000"):
        before = snapshot(self.run_dir)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), mock.patch.dict(os.environ, env or {}):
            code = train.main(["--run", self.run_dir, "--steps", steps])
        self.assertEqual(code, 2, err.getvalue())
        self.assertRegex(err.getvalue(), pattern)
        self.assertEqual(snapshot(self.run_dir), before, "nothing may be written before the error")

    def test_run_from_another_tsgpt_version(self):
        edit_json(os.path.join(self.ckpt, "trainer_state.json"), lambda s: s.update(version=2))
        self.assert_refused(r"trainer_state\.json: version: expected 1, got 2 \(a run directory from another tsgpt version")

    def test_edited_state_with_its_checksum(self):
        path = os.path.join(self.ckpt, "trainer_state.json")
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        self.assertIn('"state_sha256": "', text.splitlines()[-2], "tsgpt writes the checksum as the last field")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text.replace('"step": ', '"step": 1', 1))  # step N becomes 1N: same layout, other bytes
        self.assert_refused(r"trainer_state\.json: state_sha256: does not match the file's contents")

    def test_token_cache_from_another_version(self):
        cache = next(os.path.join(self.run_dir, "cache", n) for n in os.listdir(os.path.join(self.run_dir, "cache")))
        with open(cache, "r+b") as fh:
            fh.seek(8)
            fh.write((7).to_bytes(4, "little"))
        self.assert_refused(r"\.tokens: version: expected 1, got 7")

    def test_unsupported_family(self):
        path = os.path.join(self.ckpt, "config.json")
        edit_json(path, lambda c: c.update(architectures=["Qwen3ForCausalLM"], model_type="qwen3"))
        rewrite_checksum(self.ckpt, "config.json")
        self.assert_refused(r"config\.json: architectures: expected LlamaForCausalLM or GPT2LMHeadModel")

    def test_unsupported_feature(self):
        path = os.path.join(self.ckpt, "config.json")
        with open(path) as fh:
            llama = json.load(fh)["model_type"] == "llama"
        field = "rope_scaling" if llama else "activation_function"
        edit_json(path, lambda c: c.update({field: {"type": "linear", "factor": 2.0} if llama else "relu"}))
        rewrite_checksum(self.ckpt, "config.json")
        self.assert_refused(rf"config\.json: {field}: expected")

    def test_world_size_that_does_not_divide_the_batch(self):
        with open(os.path.join(self.ckpt, "trainer_state.json")) as fh:
            batch = json.load(fh)["settings"]["batchSize"]
        world = next(w for w in range(2, batch + 2) if batch % w != 0)
        self.assert_refused(rf"settings\.batchSize: {batch} sequences per batch cannot be split over {world} processes",
                            env={"WORLD_SIZE": str(world), "RANK": "0", "LOCAL_RANK": "0"})

    def test_changed_weights(self):
        with open(os.path.join(self.ckpt, "model.safetensors"), "r+b") as fh:
            fh.seek(-4, os.SEEK_END)
            fh.write(b"\x00\x00\xc0\x7f")  # a NaN where a weight was
        self.assert_refused(r"model\.safetensors: sha256: checksum mismatch")

    def test_optimizer_state_of_another_model(self):
        from tsgpt_torch.safetensors_io import read_safetensors, write_safetensors
        path = os.path.join(self.ckpt, "optimizer.safetensors")
        tensors, meta = read_safetensors(path)
        first = next(iter(tensors))
        write_safetensors(path, [(n, a) for n, (_, a) in tensors.items() if n != first], meta)
        rewrite_checksum(self.ckpt, "optimizer.safetensors")
        self.assert_refused(rf"optimizer\.safetensors: {re.escape(first)}: missing")

    def test_nothing_to_do(self):
        self.assert_refused(r"leaves nothing to do", steps="1")


if __name__ == "__main__":
    unittest.main()
