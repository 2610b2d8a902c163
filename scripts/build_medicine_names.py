#!/usr/bin/env python3
"""Build assistant/data/medicine_names.tsv from the FDA's Drugs@FDA data files.

Input: the Drugs@FDA ``Products.txt`` table (tab-separated, columns ApplNo, ProductNo, Form,
Strength, ReferenceDrug, DrugName, ActiveIngredient, ReferenceStandard), a US government work in
the public domain, from https://www.fda.gov/drugs/drug-approvals-and-databases/drugsfda-data-files
(see assistant/data/SOURCES.md for the exact copy used). Optionally ``MarketingStatus.txt`` from
the same release: with it, products that only have a tentative approval (never marketed) are left
out.

Output: ``name<TAB>ingredients``, one row per distinct lower-case name, where ``ingredients`` is
the active ingredient(s) with salt words removed, joined with ";" in alphabetical order. Names are
the product names (brand names such as "lioresal", and the generic names that generic products
carry) and every ingredient name itself ("baclofen" -> "baclofen").

Usage::

    python scripts/build_medicine_names.py PRODUCTS_TXT [--marketing-status MARKETINGSTATUS_TXT]
        [--source-note TEXT] [-o assistant/data/medicine_names.tsv]

Standard library only; reads local files and downloads nothing.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "assistant" / "data" / "medicine_names.tsv"

MIN_NAME_LEN = 4
MAX_NAME_LEN = 40

# Salt (counter-ion), some ester and hydrate words stripped from the end of an ingredient name
# ("tizanidine hydrochloride" -> "tizanidine"). Never stripped when what would remain is empty or
# only a metal/cation word ("potassium chloride", "magnesium sulfate" stay as they are).
SALT_WORDS = frozenset(
    """
    hydrochloride dihydrochloride trihydrochloride monohydrochloride hcl hydrobromide hbr hydroiodide
    sodium disodium trisodium monosodium potassium dipotassium calcium magnesium
    chloride nitrate carbonate maleate dimaleate succinate tartrate bitartrate hemitartrate citrate
    dicitrate sulfate hemisulfate bisulfate besylate mesylate dimesylate methanesulfonate fumarate hemifumarate
    acetate diacetate phosphate diphosphate bromide hyclate monohydrate dihydrate trihydrate
    tetrahydrate sesquihydrate hemihydrate hemipentahydrate hydrate anhydrous lactate gluconate
    malate napsylate pamoate tosylate esylate edisylate aspartate saccharate mandelate
    hippurate stearate estolate ethylsuccinate oxalate camsylate
    succinate xinafoate medoxomil axetil tromethamine ditromethamine meglumine dimeglumine erbumine
    olamine diolamine terephthalate polistirex tannate tannates cypionate enanthate decanoate
    undecanoate palmitate pivalate lactobionate methylsulfate isethionate tetrahydrochloride
    diaspartate glucuronate adipate monosulfate hydrochrloride
    """.split()
)
# Words that are the whole name of an inorganic or mineral product ("potassium chloride").
CATION_WORDS = frozenset(
    """
    sodium potassium calcium magnesium lithium zinc ferrous ferric iron aluminum ammonium silver
    barium cupric copper manganese chromium selenium strontium cesium gold bismuth gallium lanthanum
    cobalt thallous
    """.split()
)
# Words after a comma that qualify the ingredient before it ("estrogens, conjugated") rather than
# start another one; FORM_MODIFIERS are dropped ("griseofulvin, microsize" -> "griseofulvin").
FORM_MODIFIERS = frozenset(
    "microcrystalline ultramicrocrystalline microsize ultramicrosize macrocrystalline glacial nf usp".split()
)
COMMA_MODIFIERS = FORM_MODIFIERS | frozenset(
    "conjugated esterified chorionic dibasic monobasic anhydrous heptahydrate monohydrate dihydrate synthetic".split()
)
ISOTOPE_RE = re.compile(r"[a-z]{1,2}[- ]\d{2,3}m?")
# Suffixes that describe a release form or a container, not another medicine: "ambien cr" is also
# listed as "ambien".
RELEASE_SUFFIXES = frozenset("xr er sr cr la xl cd odt dr ec xr-odt".split())
NAME_TAIL_PHRASES = (
    " in plastic container",
    " preservative free",
    " in dextrose",
    " in sodium chloride",
    " w/ dextrose",
    " w/ sodium chloride",
    " sulfite free",
)

# Ordinary English words that are also FDA product names; a person who types them almost never
# means the medicine. The first lines are generic; the line after them and the sets below come
# from a check by hand of every output name that is a dictionary word (the others, such as
# "advil", "sonata", "ella" or "plan b", were kept: they are what people call the medicine).
STOP_NAMES = (
    frozenset(
        """
    advance relief complete balance focus control clear restore bright
    able alert allay alpha answer arrest assure atlas balm beta bonine brevity calm care cease
    certain clarity clean comfort compound concept cope cover curb cure delta dial digest ease
    edge effect elixir enhance equal equate ever extra fact feel first fit flow fresh gain gentle
    glide halt harmony heal health hope ideal impact instant intact legacy level lift light liquid
    major mask matrix mild mode motion natural nature noble nova nurture ocean omega option orbit
    origin pace peak perfect plan plus point power prime pure quest quick rapid ready recover
    refresh release remedy renew rescue rest revive rise safe secure select sense serene shield
    simple smart solo solution soothe spring stable start stay steady strength success summit sure
    swift theme total touch trust unity vital wave wellness wise
    amen android heather muse pseudo sojourn thrive today triad versed
    """.split()
    )
    | frozenset(
        # multi-word product names made of everyday words
        ["her style", "cold capsule iv", "cold capsule v", "balanced salt"]
    )
    | frozenset(
        # ingredient names that are everyday substances rather than medicines a person asks about
        "alcohol oxygen nitrogen helium talc cellulose water".split() + ["olive oil"]
    )
)

# Ingredients that make a product a diagnostic agent, contrast medium, radiopharmaceutical,
# allergenic extract or vaccine: such products are left out.
EXCLUDED_INGREDIENT_RE = re.compile(
    r"""
    technetium | fludeoxyglucose | fluciclovine | florbetapir | florbetaben | flutemetamol
    | flortaucipir | piflufolastat
    # a diagnostic radionuclide ("tc-99m", "f-18", "i-131"); the therapeutic ones (lutetium
    # lu-177, radium ra-223, samarium sm-153, strontium sr-89, yttrium y-90) are kept
    | \b(?!lu\b|ra\b|sm\b|sr\b|y\b)[a-z]{1,2}[-\ ]\d{2,3}m?\b
    | gallium\ citrate | indium | thallous | rubidium | xenon | krypton | iobenguane | ioflupane
    | \bgado | \biohexol | iopamidol | iodixanol | ioversol | iopromide | iomeprol | ioxaglate | ioxilan
    | iothalamate | diatrizoate | iopanoic | ipodate | iocetamic | iodipamide | iophendylate
    | iohippurate | ethiodized | tyropanoate | propyliodone | barium\ sulfate | ferumoxides | ferumoxsil
    | mangafodipir | perflutren | perflexane | perflubron | air\ polymer | sulfur\ hexafluoride | tuberculin | coccidioidin
    | histoplasmin | candida\ albicans | skin\ test | indocyanine | fluorescein | isosulfan | aminohippurate
    | \binulin\b | sincalide | secretin | cosyntropin | protirelin | corticorelin | macimorelin
    | gonadorelin | pentagastrin | betazole | methacholine | hexaminolevulinate | pafolacianine
    | indigotindisulfonate | \bxylose\b | tolbutamide\ sodium | \burea\ c | allergenic | \bpollen
    | \bvenom | \bvaccine | \btoxoid | \bantigen | evans\ blue | trypan\ blue | mebrofenin | sestamibi
    | tetrofosmin | medronate | imciromab | pentetreotide | exametazime | bicisate | sulfur\ colloid
    | tilmanocept | oxidronate | succimer\ kit
    """,
    re.VERBOSE,
)
EXCLUDED_NAME_RE = re.compile(r"\bkit\b|\bkits\b|\bdiagnostic\b|\bscan\b|\bvaccine\b|%")
EXCLUDED_FORM_RE = re.compile(r"^kit\b|\bkit;", re.IGNORECASE)

TENTATIVE_APPROVAL = "4"


def normalise_space(text: str) -> str:
    return " ".join(text.split()).lower()


def split_ingredients(raw: str) -> list[str]:
    """Split "A; B" into parts.

    "TRIPLE SULFA (X;Y;Z)" yields X, Y and Z; "LIOTRIX (T4;T3)" yields "liotrix" (the inner
    parts are abbreviations); "A, B, AND C" yields A, B and C, but "ESTROGENS, CONJUGATED" and
    "SODIUM PHOSPHATE, DIBASIC" stay whole.
    """
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in raw:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == ";" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    out: list[str] = []
    for part in parts:
        part = normalise_space(part)
        if not part:
            continue
        inner = re.fullmatch(r"([^()]*)\(([^()]*;[^()]*)\)\s*", part)
        if inner:
            pieces = [normalise_space(p) for p in inner.group(2).split(";") if p.strip()]
            if all(len(p) >= MIN_NAME_LEN for p in pieces):
                out.extend(pieces)
            else:
                out.append(normalise_space(inner.group(1)))
            continue
        part = re.sub(r"\s*\[[^\]]*\]", "", part)  # "somatropin [rdna origin]"
        for piece in split_commas(part):
            for sub in re.split(r"\s+and\s+", piece):  # "linagliptin and metformin hydrochloride"
                out.extend(split_slash(sub))
    return out


def split_slash(part: str) -> list[str]:
    """ "ampicillin/ampicillin trihydrate" -> both; "follitropin alfa/beta" stays whole."""
    pieces = [p.strip() for p in part.split("/")]
    if len(pieces) > 1 and all(len(p) >= 6 for p in pieces):
        return pieces
    return [part]


def split_commas(part: str) -> list[str]:
    merged: list[str] = []
    for piece in part.split(","):
        piece = re.sub(r"^and\s+", "", piece.strip())
        if not piece:
            continue
        first = piece.split()[0]
        if merged and (first in COMMA_MODIFIERS or ISOTOPE_RE.fullmatch(piece)):
            if first not in FORM_MODIFIERS:
                merged[-1] += ", " + piece
        else:
            merged.append(piece)
    return merged


def strip_salt(name: str) -> str:
    """Remove trailing salt/hydrate words unless nothing (or only a metal word) would remain."""
    words = name.replace(",", " ").split()
    if not words or words[0] in CATION_WORDS:
        return name
    kept = list(words)
    while len(kept) > 1 and kept[-1] in SALT_WORDS:
        kept.pop()
    if not kept or all(w in CATION_WORDS or w in SALT_WORDS for w in kept):
        return name
    if len(kept) == len(words):
        return name
    return " ".join(kept)


def normalise_ingredient(name: str) -> str:
    """ "insulin lispro recombinant" -> "insulin lispro"; then salt words are stripped."""
    name = re.sub(r"\s*\([^()]*recombinant[^()]*\)", "", name)
    name = " ".join(w for w in name.split() if w != "recombinant")
    return strip_salt(name)


def ingredient_key(raw: str) -> str:
    names = sorted({normalise_ingredient(p) for p in split_ingredients(raw)} - {""})
    return ";".join(names)


def clean_name(drug_name: str) -> str:
    name = normalise_space(drug_name)
    name = name.replace(" ,", ",")
    changed = True
    while changed:
        changed = False
        for tail in NAME_TAIL_PHRASES:
            idx = name.find(tail)
            if idx > 0:
                name = name[:idx].strip()
                changed = True
    # "actonel with calcium (copackaged)" -> "actonel with calcium"
    name = re.sub(r"\s*\([^()]*\)$", "", name)
    name = re.sub(r"\s*'[\d.]+'", "", name)  # "augmentin '875'" -> "augmentin"
    name = re.sub(r",?\s+(?:usp|nf)$", "", name)
    # "clinimix 4.25/10 ..." and "advair diskus 100/50": cut at a ratio or decimal strength.
    # "heparin sodium 5,000 units" and "potassium chloride 10meq": cut at a dose with its unit.
    cut = re.search(r"\s\d+(?:\.\d+)?/\d|\s\d+\.\d|\s\d[\d, ]*\s?(?:usp\s)?(?:units?|meq|mg|mcg)\b", name)
    if cut and re.search(r"[a-z]{3}", name[: cut.start()]):
        name = name[: cut.start()]
    name = re.sub(r"\s+(?:w/|with|and)$", "", name)
    # Strengths and pack sizes typed into the product name: "adderall 12.5", "alyacen 1/35",
    # "anadrol-50", "lo/ovral-28" lose them; "tylenol w/ codeine no. 3" keeps its number.
    while True:
        stripped = re.sub(r"(?<![.#])[- ]\d[\d./]*(?:mg|mcg)?$", "", name)
        if (
            stripped == name
            or not re.search(r"[a-z]{3}", stripped)
            or stripped.endswith(" no.")
            or ISOTOPE_RE.fullmatch(name.split()[-1])  # "strontium chloride sr-89"
        ):
            break
        name = stripped
    return name.strip(" ,;")


def plausible_name(name: str) -> bool:
    if len(name) < MIN_NAME_LEN or len(name) > MAX_NAME_LEN:
        return False
    if not re.search(r"[a-z]", name):
        return False
    if re.fullmatch(r"[\d\s.,/-]+", name):
        return False
    if name in STOP_NAMES:
        return False
    if EXCLUDED_NAME_RE.search(name):
        return False
    return bool(re.fullmatch(r"[a-z0-9][a-z0-9 .,'/&+()-]*", name))


def name_variants(name: str) -> list[str]:
    """Extra spellings of a product name: salt words and release-form suffixes removed."""
    variants = []
    words = name.split()
    stripped = strip_salt(name)
    if stripped != name:
        variants.append(stripped)
    if len(words) >= 2 and words[-1] in RELEASE_SUFFIXES:
        variants.append(" ".join(words[:-1]))
    return variants


def read_tentative(path: Path | None) -> set[tuple[str, str]]:
    """(ApplNo, ProductNo) pairs whose only marketing status is 'None (Tentative Approval)'."""
    if path is None:
        return set()
    statuses: dict[tuple[str, str], set[str]] = defaultdict(set)
    with path.open(encoding="latin-1", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            statuses[(row["ApplNo"].strip(), row["ProductNo"].strip())].add(row["MarketingStatusID"].strip())
    return {key for key, ids in statuses.items() if ids == {TENTATIVE_APPROVAL}}


def build(products: Path, marketing_status: Path | None) -> tuple[dict[str, str], Counter]:
    tentative = read_tentative(marketing_status)
    # votes[name][ingredients] = weight; exact product names weigh 2, derived spellings 1.
    votes: dict[str, Counter] = defaultdict(Counter)
    ingredient_names: set[str] = set()
    stats: Counter = Counter()
    seen_products: set[tuple[str, str]] = set()
    with products.open(encoding="latin-1", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            stats["product rows"] += 1
            key = (row["ApplNo"].strip(), row["ProductNo"].strip())
            if key in seen_products:
                stats["duplicate product rows"] += 1
                continue
            seen_products.add(key)
            if key in tentative:
                stats["tentative approval only"] += 1
                continue
            raw_ingredient = row["ActiveIngredient"] or ""
            form = row["Form"] or ""
            if EXCLUDED_INGREDIENT_RE.search(raw_ingredient.lower()) or EXCLUDED_INGREDIENT_RE.search(
                (row["DrugName"] or "").lower()
            ):
                stats["diagnostic/contrast/radiopharmaceutical/vaccine"] += 1
                continue
            if EXCLUDED_FORM_RE.search(form):
                stats["kit"] += 1
                continue
            ingredients = ingredient_key(raw_ingredient)
            if not ingredients or ingredients in {"unknown"}:
                stats["no ingredient"] += 1
                continue
            stats["products used"] += 1
            for part in ingredients.split(";"):
                ingredient_names.add(part)
            name = clean_name(row["DrugName"] or "")
            votes[name][ingredients] += 2
            for variant in name_variants(name):
                votes[variant][ingredients] += 1
    table: dict[str, str] = {}
    for name, counter in votes.items():
        if not plausible_name(name):
            continue
        best = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        table[name] = best
    # Every ingredient name maps to itself, whatever a product of that name contains.
    for ingredient in ingredient_names:
        if plausible_name(ingredient):
            table[ingredient] = ingredient
    stats["names"] = len(table)
    return table, stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("products", type=Path, help="Drugs@FDA Products.txt")
    parser.add_argument("--marketing-status", type=Path, default=None, help="Drugs@FDA MarketingStatus.txt")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--source-note",
        default="US FDA Drugs@FDA data files (public domain)",
        help="text for the comment line at the top of the TSV (source and date)",
    )
    args = parser.parse_args(argv)
    table, stats = build(args.products, args.marketing_status)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8", newline="\n") as out:
        out.write(f"# {args.source_note}; built by scripts/build_medicine_names.py\n")
        out.write("name\tingredients\n")
        for name in sorted(table):
            out.write(f"{name}\t{table[name]}\n")
    for key, value in stats.items():
        print(f"{key}: {value}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
