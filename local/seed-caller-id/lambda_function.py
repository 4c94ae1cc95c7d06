"""The seed: the reference design's original Python caller-ID function, reproduced so the
cold-start benchmark (scripts/bench_caller_id_cold.py) can run it side by side with the Rust
caller-id through the same Runtime API emulator. BENCHMARK INFRASTRUCTURE ONLY: never deployed,
never packaged, not referenced by Terraform.

Where each part comes from:

- From the reference design's README for the function (its documented contract): the Amazon
  Connect whisper-flow event it reads (`Details.ContactData.CustomerEndpoint.Address`, and the
  queue's `OutboundCallerId`), the two environment variables `BUCKET_NAME` and
  `COUNTRY_ROUTING_LIST_KEY`, the routing file (ISO 3166 country code -> E.164 number, with a
  `Default` entry for every other country), the six keys of the answer, and the queue's own
  outbound number as what Connect falls back to.
- From the reference design's original Python function (its behaviour, re-implemented here, not
  its text): what it imports and does at init (boto3 and the `phonenumbers` package, and a boto3
  S3 *resource* made when the module loads); a number's country is the main region of its
  calling code (`region_code_for_country_code(parse(n).country_code)`: every +1 number is "US",
  every +44 number "GB"); the routing file is fetched from S3 and parsed on **every** call (no
  cache); a customer country missing from the file takes `Default`, and an entry that does not
  parse takes the queue's number; the chosen number must pass `is_valid_number`; and every
  failure (a missing event field, a number that does not parse, an S3 error, a file that is not
  JSON, an invalid outbound number) answers `None` (`null`), leaving Connect to use the queue's
  number. Without the environment variables it answers with the queue's number. Its logger is at
  ERROR level, so the informational lines it formats are never written.
- One detail kept as the original has it: it compiles an E.164 pattern but its test can never
  fail (a match result is compared with `False`), so numbers are judged by `phonenumbers.parse`
  alone; the pattern is compiled here too and not used to reject anything.

Dependencies: boto3 (in Lambda's Python runtime) and phonenumbers (scripts/requirements.txt;
the original shipped it in its deployment package).
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

import boto3
import botocore.exceptions
import phonenumbers

logger = logging.getLogger()
logger.setLevel(logging.ERROR)

# Made at import, i.e. during the init phase of a cold start, as the original does.
S3 = boto3.resource("s3")
E164 = re.compile(r"^\+?[1-9]\d{1,14}$")  # compiled, never used to reject (see the docstring)


def country_of(number: Any) -> str | None:
    """ISO 3166 code of a number's calling code's main region; raises when it does not parse."""
    return phonenumbers.region_code_for_country_code(phonenumbers.parse(number).country_code)


def answer(customer: str, customer_country: str | None, outbound: str, outbound_country: str | None,
           queue: str, queue_country: str | None) -> dict[str, Any] | None:
    """The six-key answer, or None when the chosen outbound number is not a valid number."""
    if not phonenumbers.is_valid_number(phonenumbers.parse(outbound)):
        logger.error("outbound number %s is not a valid number", outbound)
        return None
    return {
        "customer_number": customer,
        "customer_country": customer_country,
        "outbound_number": outbound,
        "outbound_country": outbound_country,
        "default_queue_outbound_number": queue,
        "default_queue_outbound_country": queue_country,
    }


def routed_number(routing: Any, customer_country: str | None, queue: str,
                  queue_country: str | None) -> tuple[str, str | None]:
    """The routing file's number for the customer's country, else its Default; the queue's number
    when that entry is missing or does not parse."""
    key = customer_country if customer_country in routing else "Default"
    try:
        number = routing[key]
        return number, country_of(number)
    except Exception:  # noqa: BLE001 - any bad entry means the queue's number, as in the original
        logger.error("routing file entry %r is missing or not a phone number: using the queue's number", key)
        return queue, queue_country


def lambda_handler(event: Any, context: Any) -> dict[str, Any] | None:
    try:
        customer = event["Details"]["ContactData"]["CustomerEndpoint"]["Address"]
        E164.match(customer)
        customer_country = country_of(customer)
    except Exception:  # noqa: BLE001
        logger.error("cannot read Details.ContactData.CustomerEndpoint.Address as a phone number")
        return None
    try:
        queue = event["Details"]["ContactData"]["Queue"]["OutboundCallerId"]["Address"]
        queue_country = country_of(queue)
    except Exception:  # noqa: BLE001
        logger.error("cannot read Details.ContactData.Queue.OutboundCallerId.Address as a phone number")
        return None

    bucket = os.environ.get("BUCKET_NAME", "")
    key = os.environ.get("COUNTRY_ROUTING_LIST_KEY", "")
    if not bucket or not key:
        logger.error("BUCKET_NAME or COUNTRY_ROUTING_LIST_KEY is not set: using the queue's number")
        return answer(customer, customer_country, queue, queue_country, queue, queue_country)

    try:
        routing = json.loads(S3.Object(bucket, key).get()["Body"].read().decode("utf-8"))
    except botocore.exceptions.ClientError:
        logger.error("cannot get s3://%s/%s", bucket, key)
        return None
    except Exception as err:  # noqa: BLE001
        logger.error("cannot read the routing file s3://%s/%s: %s", bucket, key, err)
        return None

    outbound, outbound_country = routed_number(routing, customer_country, queue, queue_country)
    return answer(customer, customer_country, outbound, outbound_country, queue, queue_country)
