"""moto's text of AWS's managed policies is dropped from memory and read again when used.

moto's answers stay the same: IAM without AWS's managed policies by default,
with them when moto is told to load them, and SSO Admin's import of the text.
"""

from __future__ import annotations

import json

import moto.iam.aws_managed_policies as policies_module
import moto.iam.models as iam_models
import pytest

from streamlab.local import moto_managed_policies

pytestmark = pytest.mark.unit

ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture(autouse=True)
def applied() -> None:
    moto_managed_policies.apply()
    moto_managed_policies.apply()  # idempotent


def test_the_text_is_no_longer_held() -> None:
    assert moto_managed_policies.NAME not in vars(iam_models)
    assert moto_managed_policies.NAME not in vars(policies_module)


def test_the_text_is_still_importable_as_sso_admin_imports_it() -> None:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    assert "AdministratorAccess" in json.loads(aws_managed_policies_data)
    with pytest.raises(AttributeError):
        policies_module.no_such_name  # noqa: B018


def test_iam_has_no_aws_managed_policies_unless_moto_is_told_to_load_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)
    assert iam_models.IAMBackend("us-east-1", "123456789012").managed_policies == {}
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    loaded = iam_models.IAMBackend("us-east-1", "123456789012").managed_policies
    assert ADMINISTRATOR in loaded
    assert len(loaded) > 1000
    assert moto_managed_policies.NAME not in vars(iam_models)  # lent for the call only
