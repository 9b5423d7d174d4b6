"""Preparing synthesized templates for moto: strip unsupported resources and what depends on them."""

from __future__ import annotations

from typing import Any

from homing.local.deploy import stack_order
from homing.local.templates import prepare_template, references

SUPPORTED = frozenset(
    {"AWS::Lambda::Function", "AWS::IAM::Policy", "AWS::Lambda::EventSourceMapping", "AWS::SQS::Queue"}
)


def _template() -> dict[str, Any]:
    return {
        "Resources": {
            "Firehose": {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": {"DeliveryStreamName": "fh"}},
            "Group": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Environment": {
                        "Variables": {
                            "FIREHOSE": {"Ref": "Firehose"},
                            "GROUP_ARN": {"Fn::GetAtt": ["Group", "Arn"]},
                            "SUBBED": {"Fn::Sub": "name=${Firehose}"},
                        }
                    }
                },
                "DependsOn": ["Policy", "Firehose"],
            },
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyDocument": {"Statement": [{"Resource": {"Fn::GetAtt": ["Firehose", "Arn"]}}]}},
            },
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Firehose", "Arn"]}, "FunctionName": {"Ref": "Fn"}},
            },
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Tag": {"Fn::GetAtt": ["Mapping", "Id"]}}},
            "Custom": {"Type": "Custom::Thing", "Properties": {"ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]}}},
        },
        "Outputs": {
            "FnArn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}, "Export": {"Name": "S:FnArn"}},
            "FirehoseArn": {"Value": {"Fn::GetAtt": ["Firehose", "Arn"]}, "Export": {"Name": "S:FirehoseArn"}},
        },
    }


def test_unsupported_and_dependent_resources_are_stripped() -> None:
    prepared, report = prepare_template(_template(), "S", SUPPORTED)

    assert set(report.stripped) == {"Firehose", "Group", "Mapping", "Queue", "Custom"}
    assert set(prepared["Resources"]) == {"Fn", "Policy"}


def test_function_environment_and_policies_get_placeholders() -> None:
    prepared, report = prepare_template(_template(), "S", SUPPORTED)

    variables = prepared["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]
    assert variables["FIREHOSE"] == "fh"
    assert variables["GROUP_ARN"] == "arn:aws:local:::stripped/S/Group/Arn"
    assert variables["SUBBED"] == {"Fn::Sub": "name=fh"}
    statement = prepared["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"] == "arn:aws:local:::stripped/S/Firehose/Arn"
    assert any(entry.startswith("Fn:") for entry in report.neutralized)


def test_depends_on_removed_resources_is_dropped() -> None:
    prepared, _ = prepare_template(_template(), "S", SUPPORTED)

    assert prepared["Resources"]["Fn"]["DependsOn"] == ["Policy"]


def test_outputs_and_exports_of_removed_resources_are_dropped() -> None:
    prepared, report = prepare_template(_template(), "S", SUPPORTED)

    assert set(prepared["Outputs"]) == {"FnArn"}
    assert report.dropped_exports == {"S:FirehoseArn"}


def test_importers_of_dropped_exports_are_stripped_too() -> None:
    template = {
        "Resources": {
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"EventSourceArn": {"Fn::ImportValue": "S:FirehoseArn"}},
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Environment": {"Variables": {"X": {"Fn::ImportValue": "S:FirehoseArn"}}}},
            },
        }
    }

    prepared, report = prepare_template(template, "T", SUPPORTED, dropped_exports={"S:FirehoseArn"})

    assert set(report.stripped) == {"Mapping"}
    assert prepared["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]["X"].startswith("arn:aws:local:::")


def test_the_input_template_is_not_modified() -> None:
    template = _template()
    prepare_template(template, "S", SUPPORTED)

    assert "Firehose" in template["Resources"]


def test_references_finds_ref_getatt_and_sub() -> None:
    value = {"a": [{"Ref": "A"}, {"Fn::GetAtt": "B.Arn"}, {"Fn::Sub": ["${C.Arn}/${local}", {"local": "x"}]}]}

    assert references(value, {"A", "B", "C", "local", "D"}) == {"A", "B", "C"}


def test_kms_key_tags_are_reshaped_for_moto() -> None:
    template = {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "a", "Value": "b"}]}}}}

    prepared, _ = prepare_template(template, "S", frozenset({"AWS::KMS::Key"}))

    assert prepared["Resources"]["Key"]["Properties"]["Tags"] == [{"TagKey": "a", "TagValue": "b"}]


def test_stacks_are_ordered_by_dependencies() -> None:
    manifest = {
        "artifacts": {
            "Api": {"type": "aws:cloudformation:stack", "dependencies": ["Data", "Api.assets"]},
            "Api.assets": {"type": "cdk:asset-manifest"},
            "Events": {"type": "aws:cloudformation:stack", "dependencies": ["Api", "Data"]},
            "Data": {"type": "aws:cloudformation:stack", "dependencies": []},
            "Tree": {"type": "cdk:tree"},
        }
    }

    assert stack_order(manifest) == ["Data", "Api", "Events"]
