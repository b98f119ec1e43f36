"""What the labs teach about AWS is what AWS documents, with the page it rests on.

Each claim below is a statement the labs once made that AWS's documentation
contradicts, or promises less than (the wording in ``wrong``), or a fact a
learner needs that the labs left out. For each: the old wording appears nowhere
a learner reads (``solutions/``, ``labs/``, ``lab_guide/``, ``README.md``),
and every file that teaches the corrected statement says it (``says``) and
links the AWS page it rests on (``link``). Text is compared with its line
breaks folded into spaces, since Markdown cells wrap sentences anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.unit  # reads files only: no emulator, although tests/course/

ROOT = Path(__file__).resolve().parents[2]

STREAMS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html"
GET_RECORDS = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html"
)
DELETE_TABLE = "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteTable.html"
STREAM_RECORD = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html"
)
UPDATE_TABLE_STREAM = (
    "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/dynamodb/"
    "aws.sdk.kotlin.services.dynamodb.model/-update-table-request/stream-specification.html"
)
ON_DEMAND = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html"
)
GLOBAL_TABLES = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html"
MAPPING_PARAMS = "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html"
ON_FAILURE = "https://docs.aws.amazon.com/lambda/latest/api/API_OnFailure.html"
WITH_DDB = "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html"
WINDOWS = "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-windows.html"
FILTERING = "https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html"
DDB_FILTERING = "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html"
CDK_FILTER = (
    "https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_lambda.FilterCriteria.html"
)
INVOKE = "https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html"
LOGGING_CONFIG = "https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html"
LIFECYCLE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html"

NB02, NB03, NB04 = (
    "solutions/02_streams.ipynb",
    "solutions/03_lambda.ipynb",
    "solutions/04_event_driven_app.ipynb",
)
NB05, NB06 = "solutions/05_reliability.ipynb", "solutions/06_replication_analytics.ipynb"
G02, G03, G04 = (
    "lab_guide/02_streams.md",
    "lab_guide/03_lambda.md",
    "lab_guide/04_event_driven_app.md",
)
G05, G06 = "lab_guide/05_reliability.md", "lab_guide/06_replication_analytics.md"
POLLERS, RUNTIME, INSTRUCTOR = (
    "lab_guide/pollers.md",
    "lab_guide/runtime.md",
    "lab_guide/instructor.md",
)


@dataclass(frozen=True)
class Claim:
    name: str
    link: str  # the AWS page the corrected statement rests on
    taught_in: tuple[str, ...]  # files that must teach it, with the link
    wrong: tuple[str, ...] = ()  # regexes of the old wording, banned everywhere
    says: tuple[str, ...] = ()  # regexes the teaching files must match

    def __str__(self) -> str:
        return self.name


CLAIMS = [
    Claim(
        "enabling a stream that is on is a ValidationException",
        UPDATE_TABLE_STREAM,
        (INSTRUCTOR, "lab_guide/setup.md"),
        wrong=(
            r"(?:[Ee]nabling|[Tt]urning on)[^.|]{0,60}stream[^.|]{0,30}"
            r"(?:raises|answers with|gives) `?ResourceInUseException",
        ),
        says=(r"ValidationException: Table already has an enabled stream",),
    ),
    Claim(
        "an S3 bucket is an on-failure destination too, and gets the whole invocation record",
        ON_FAILURE,
        (NB05, G05, POLLERS),
        wrong=(
            r"never the records",
            r"SQS queue \(or an SNS topic\)",
            r"OnFailure` \(SQS queue or SNS topic\) \|",
            r"The on-failure message describes the batch",
        ),
        says=(r"S3 bucket",),
    ),
    Claim(
        "asynchronous payloads: 1 MB on AWS",
        INVOKE,
        (RUNTIME,),
        wrong=(r"256 KB for asynchronous", r"long-standing ones"),
        says=(r"1 MB",),
    ),
    Claim(
        "a failing batch is retried until its records expire, not forever",
        MAPPING_PARAMS,
        (NB04, NB05, NB06, G04, G05, G06, POLLERS),
        wrong=(
            r"retried forever",
            r"forever with the defaults",
            r"retried, in order, until it succeeds\.",
            r"by default until it succeeds\)",
            r"retried until it succeeds \(the mapping's defaults\)",
        ),
    ),
    Claim(
        "a stream is ordered per item only",
        STREAMS,
        (NB02, G02, INSTRUCTOR),
        wrong=(
            r"an ordered log",
            r"ordered, continuous log",
            r"as an ordered log",
            r"every change to a table, in order\?",
            r"replays, in order, every change since it began",
        ),
        says=(r"per item",),
    ),
    Claim(
        "deleting a table disables its stream, kept 24 hours",
        DELETE_TABLE,
        (NB02, G02),
        wrong=(r"[Dd]eleting a table deletes its stream",),
        says=(r"24 hours",),
    ),
    Claim(
        "shards are created and closed by DynamoDB, not split as the table grows",
        STREAMS,
        (NB02, G02),
        wrong=(r"as the table grows",),
        says=(r"creates and closes",),
    ),
    Claim(
        "stream records arrive in near-real time, with no latency promised",
        STREAMS,
        (NB02, NB04, G02, G04, POLLERS),
        wrong=(
            r"within about a second",
            r"takes about a second to reach",
            r"typically see about a second",
            r"replication (takes )?about a second",
            r"reaches the function in about a second",
        ),
        says=(r"near-real time",),
    ),
    Claim(
        "at least once, and nothing skipped, only while records are in the stream (24 hours)",
        MAPPING_PARAMS,
        (NB04, NB05, POLLERS),
        wrong=(
            r"so nothing is lost\.",
            r"every record is delivered \*\*at least once\*\*, in order per item\.",
            r"nothing is skipped or repeated\. \|",
            r"in batches, at least once, in order per item",
        ),
        says=(r"24 hours",),
    ),
    Claim(
        "ParallelizationFactor: AWS documents order per item, not what a failing batch blocks",
        WITH_DDB,
        (NB05, G05),
        wrong=(
            r"only the records with its key",
            r"and, with `ParallelizationFactor`, only its key's lane",
        ),
        says=(r"per item",),
    ),
    Claim(
        "filters: 5 patterns by default, 10 with a quota increase",
        FILTERING,
        (NB05, POLLERS),
        wrong=(r"up to 5 (EventBridge )?patterns",),
        says=(r"quota increase",),
    ),
    Claim(
        "exercise 5.3: AWS's DynamoDB filtering page promises the dynamodb key only",
        DDB_FILTERING,
        (NB05, G05, POLLERS),
        says=(r"`dynamodb` key",),
    ),
    Claim(
        "exercise 5.3: AWS's own CDK reference filters DynamoDB records on eventName",
        CDK_FILTER,
        (NB05, G05),
        says=(r"eventName",),
    ),
    Claim(
        "windows: grouped by write time; AWS documents no clock alignment, no empty final call",
        WINDOWS,
        (NB06, G06, POLLERS),
        wrong=(
            r"aligned to the clock",
            r"in an invocation with no records",
            r"called once more with no records",
        ),
    ),
    Claim(
        "global tables: two consistency modes since 2025",
        GLOBAL_TABLES,
        (NB06,),
        wrong=(r"typically within a second", r"\| last writer wins, per item \|"),
        says=(r"multi-Region strong consistency",),
    ),
    Claim(
        "the log group and text format are defaults (LoggingConfig)",
        LOGGING_CONFIG,
        (NB03, G03, RUNTIME),
        wrong=(r"(?<!default )Lambda writes everything to the log group",),
        says=(r"LoggingConfig",),
    ),
    Claim(
        "INIT_START, initialisation before the first invocation, and the billed init phase",
        LIFECYCLE,
        (NB03, G03, RUNTIME),
        says=(r"INIT_START",),
    ),
    Claim(
        "on-demand requests are billed; the free tier covers provisioned capacity and storage",
        ON_DEMAND,
        ("solutions/00_setup.ipynb", INSTRUCTOR),
        wrong=(r"inside the free tier", r"an idle table costs nothing\)"),
    ),
    # Facts the labs never mentioned.
    Claim(
        "at most two readers per shard; lab 06 disconnects lab 04's aggregator to keep to two",
        STREAMS,
        (NB06, G06, POLLERS),
        says=(r"two readers per shard",),
    ),
    Claim(
        "Time to Live deletions arrive as REMOVE records with a service userIdentity",
        STREAM_RECORD,
        (NB05, G05),
        says=(r"Time to Live", r"userIdentity", r"dynamodb\.amazonaws\.com"),
    ),
    Claim(
        "iterators expire after 15 min; trimmed data; GetRecords: at most 1 MB or 1,000 records",
        GET_RECORDS,
        (NB02, G02),
        says=(
            r"15 minutes",
            r"ExpiredIteratorException",
            r"TrimmedDataAccessException",
            r"1,000 records",
        ),
    ),
    Claim(
        "re-enabling a stream gives a new ARN, and mappings must be made again",
        STREAMS,
        (NB02, G02),
        says=(r"new ARN[^.]*mapping",),
    ),
]


def _notebook_text(path: Path) -> str:
    """Every string a learner reads in a notebook: cells, their text outputs, the lab facts."""
    book = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    parts: list[str] = [repr(book.metadata.get("streamlab", {}))]
    for cell in book.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain") or ""
            parts.append(text if isinstance(text, str) else "".join(text))
    return "\n".join(parts)


@cache
def learner_texts() -> dict[str, str]:
    """Relative path → text with whitespace folded, for every file a learner reads."""
    paths = [ROOT / "README.md"]
    for folder, pattern in (
        ("solutions", "*.ipynb"),
        ("labs", "*.ipynb"),
        ("lab_guide", "**/*.md"),
    ):
        paths += sorted((ROOT / folder).glob(pattern))
    texts = {}
    for path in paths:
        raw = _notebook_text(path) if path.suffix == ".ipynb" else path.read_text(encoding="utf-8")
        texts[path.relative_to(ROOT).as_posix()] = re.sub(r"\s+", " ", raw)
    return texts


@pytest.mark.parametrize("claim", CLAIMS, ids=str)
def test_old_wording_is_gone(claim: Claim) -> None:
    found = [
        f"{path}: …{text[max(0, m.start() - 60) : m.end() + 60]}…"
        for pattern in claim.wrong
        for path, text in learner_texts().items()
        for m in [re.search(pattern, text)]
        if m
    ]
    assert not found, f"{claim.name}: still taught as before:\n" + "\n".join(found)


@pytest.mark.parametrize("claim", CLAIMS, ids=str)
def test_corrected_statement_is_taught_with_its_aws_page(claim: Claim) -> None:
    texts = learner_texts()
    missing = []
    for path in claim.taught_in:
        text = texts[path]
        if claim.link not in text:
            missing.append(f"{path}: no link to {claim.link}")
        missing += [f"{path}: does not say {p!r}" for p in claim.says if not re.search(p, text)]
    assert not missing, f"{claim.name}:\n" + "\n".join(missing)


def test_every_cited_page_is_aws_documentation() -> None:
    """The pages the claims rest on are AWS's own documentation (never a copy or a blog)."""
    for claim in CLAIMS:
        assert claim.link.startswith("https://docs.aws.amazon.com/"), claim.name
