"""The published test vectors in docs/randomization.md, checked byte for byte against the
implementation and against an independent JavaScript implementation of the document."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from protocolgen.allocation import (
    DEVELOPMENT,
    PRODUCTION,
    AllocationArm,
    AllocationDesign,
    KeyedStream,
    build_design,
    commitment,
    commitment_salt,
    generate_allocation,
    parse_seed,
    seed_check,
    shuffle,
    stream_message,
)
from protocolgen.allocation_output import _study_header
from protocolgen.allocation_tables import design_parameters, format_list, format_redcap
from protocolgen.study import load_study

from .conftest import RESILIENT, ROOT

DOC = ROOT / "docs" / "randomization.md"


def resilient_hashes() -> dict[str, str]:
    """The RESILIENT example's published hashes (the last text block of the document)."""
    block = DOC.read_text(encoding="utf-8").rsplit("```text\n", 1)[1].split("```", 1)[0]
    return dict(line.split(" = ", 1) for line in block.splitlines() if line.strip())


def documented_vectors() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("## 11 Test vectors", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    pairs = (line.split(" = ", 1) for line in block.splitlines() if line.strip())
    return {key: value for key, value in pairs}


def computed_vectors() -> dict[str, str]:
    seed = parse_seed(documented_vectors()["seed"])
    out = {"seed": seed.hex(), "seed.decimal": str(seed.value),
           "message(production, '')": stream_message(seed, PRODUCTION, "").hex()}
    for purpose, label in [(PRODUCTION, ""), (DEVELOPMENT, ""),
                           (PRODUCTION, "REGION=NAM/PLATSENS=SENSITIVE"),
                           (PRODUCTION, "site=S01")]:
        out[f"stream({purpose}, '{label}')[0:32]"] = \
            KeyedStream(seed, purpose, label).read(32).hex()
    draws = KeyedStream(seed, PRODUCTION, "test-vector")
    out["below6"] = " ".join(str(draws.below(6)) for _ in range(16))
    out["below1000"] = " ".join(str(draws.below(1000)) for _ in range(8))
    items = list(range(10))
    shuffle(KeyedStream(seed, PRODUCTION, "test-vector-shuffle"), items)
    out["shuffle10"] = " ".join(map(str, items))
    for name, method, ratios, blocks, surplus in [
            ("list permuted-block 1:1 blocks 2,4 size 10 surplus 0.2", "permuted-block",
             (1, 1), (2, 4), "0.2"),
            ("list permuted-block 2:1:1 blocks 4,8 size 10 surplus 0.2", "permuted-block",
             (2, 1, 1), (4, 8), "0.2"),
            ("list simple 3:2 size 10 surplus 0", "simple", (3, 2), (), "0")]:
        arms = tuple(AllocationArm(chr(65 + i), chr(65 + i), i + 1, r)
                     for i, r in enumerate(ratios))
        design = AllocationDesign(method, arms, blocks, (), False, (), 10, surplus)
        only = generate_allocation(seed, design).lists[0]
        value = "".join(arms[i].id for i in only.arms)
        out[name] = value + (" blocks " + " ".join(map(str, only.blocks)) if only.blocks else "")
    out["seed_check"] = seed_check(seed)
    salt = commitment_salt(seed, "list")
    out["salt(list)"] = salt.hex()
    out['commitment(list, "hello\\n")'] = commitment(salt, b"hello\n")
    return out


def test_documented_vectors_match_the_implementation() -> None:
    documented = documented_vectors()
    assert len(documented) == 16
    assert computed_vectors() == documented


def test_an_independent_implementation_of_the_document_agrees() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed; the JavaScript reference cannot run")
    done = subprocess.run([node, str(ROOT / "tools" / "randomization_reference.mjs")],
                          capture_output=True, text=True, check=True, timeout=60)
    printed = dict(line.split(" = ", 1) for line in done.stdout.splitlines())
    assert printed == documented_vectors()


def test_resilient_example_list_is_fixed_byte_for_byte() -> None:
    study = load_study(RESILIENT).study
    seed = parse_seed(documented_vectors()["seed"])
    design = build_design(study)
    production = generate_allocation(seed, design)
    data = format_list(_study_header(study, PRODUCTION, seed_check(seed),
                                     design_parameters(design)), production)
    lines = data.split(b"\n")
    assert lines[0].startswith(b"# protocolgen allocation list (production)")
    assert lines[7] == (b"randomization_number,site,stratum,REGION,PLATSENS,block_number,"
                        b"block_size,position_in_block,arm_code,arm_name")
    assert lines[8] == (b"NAM-SENSITIVE-001,,REGION=NAM/PLATSENS=SENSITIVE,NAM,SENSITIVE,"
                        b"1,4,1,2,Topotecan")
    table = b"\n".join(lines[7:])
    published = resilient_hashes()
    assert hashlib.sha256(table).hexdigest() == published["resilient list table sha256"]
    assert hashlib.sha256(format_redcap(production)).hexdigest() == \
        published["resilient redcap production sha256"]
