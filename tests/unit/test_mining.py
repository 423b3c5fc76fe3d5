"""Mining agents' decisions: masking, lining edits up with template pieces, proposals, approval."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from assist.builders.cli import main as cli
from assist.drafting.composer import compose
from assist.text.masking import mask
from assist.builders.edits import frequent_edits, piece_rewrites, piece_spans, unfill
from assist.builders.mining import mine, nlu_proposals, variant_proposals
from assist.builders.review_files import apply_approved
from assist.shop.policy import load_policy
from assist.drafting.situation import build_situation
from assist.store import SuggestionStore
from assist.shop.templates import DEFAULT_DIR, load_templates
from assist.builders.trainingdata import Example, HeldOut

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy()
BOOK = load_templates(policy=POLICY)
TEXTS = {v.id: v.text for v in BOOK.variants()}
ORDER = {"order_id": "4392018876512093", "carrier": "中通快递", "status": "in_transit"}


# ---- masking ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, gone, placeholder", [
    ("我手机13812345678，快点", "13812345678", "<手机号>"),
    ("电话 021-62345678 找我", "62345678", "<手机号>"),
    ("订单4392018876512093到哪了", "4392018876512093", "<订单号>"),
    ("单号YT2231908876521004一直不动", "YT2231908876521004", "<运单号>"),
    ("收货地址：北京市朝阳区建国路88号院3号楼，快点送", "建国路", "<地址>"),
    ("寄到浙江省杭州市西湖区文三路90号了吗", "文三路", "<地址>"),
    ("我叫李小龙，订单有问题", "李小龙", "<姓名>"),
    ("欧阳女士的件到了吗", "欧阳", "<姓名>"),
    ("邮箱 someone@example.com", "someone@", "<邮箱>"),
    ("身份证11010519491231002X", "11010519491231002X", "<证件号>"),
])
def test_personal_data_is_masked(text, gone, placeholder):
    out = mask(text)
    assert gone not in out and placeholder in out
    assert mask(out) == out


def test_ordinary_words_survive_masking():
    for text in ["快递五天了还没到", "能便宜20块吗", "我要退货，尺码不对", "您好，我是人工客服", "这是我们的疏忽"]:
        assert mask(text) == text


# ---- lining edits up with pieces --------------------------------------------------------------

def _drafts(text="快递五天了还没到", facts=ORDER, intent="delivery_delay"):
    return compose(build_situation(text, intent=intent, facts=facts), policy=POLICY)


def test_every_draft_lines_up_with_its_pieces():
    for text, intent in [("快递五天了还没到", "delivery_delay"), ("转人工", "request_human"), ("能便宜点吗", "price_haggle"),
                         ("质量太差，我要投诉", "complaint"), ("我要退货", "refund_return")]:
        for d in _drafts(text, intent=intent):
            spans = piece_spans(d.text, d.pieces, TEXTS)
            assert spans is not None, d
            assert [s.variant_id for s in spans] == list(d.pieces)


def test_an_addition_before_the_close_belongs_to_the_piece_before_it():
    d = _drafts("转人工", facts={}, intent="request_human")[0]
    spans = piece_spans(d.text, d.pieces, TEXTS)
    last = spans[-1]
    final = d.text[:last.start] + "1小时内给您回复。" + d.text[last.start:]
    rewrites = piece_rewrites(d.text, final, spans)
    assert len(rewrites) == 1 and rewrites[0].variant_id == spans[-2].variant_id
    assert rewrites[0].new == rewrites[0].old + "1小时内给您回复。" and rewrites[0].clean_cut


def test_unfill_turns_facts_back_into_slots():
    assert unfill("订单4392018876512093由中通快递配送，4小时内给您回复。", {"carrier": "中通快递"}, "4小时内") == \
        "订单{order_id}由{carrier}配送，{follow_up}给您回复。"


# ---- (a) reply variants -------------------------------------------------------------------------

def _edit_record(draft, final, topic, rank=1):
    return {"topic": topic, "temperament": "reasoning",
            "drafts": [{"rank": rank, "text": draft.text, "variant_id": draft.variant_id, "kind": draft.kind, "pieces": list(draft.pieces)}],
            "decision": {"action": "edit", "rank": rank, "final_text": final}}


def test_a_frequent_edit_becomes_a_checked_variant_proposal():
    records = []
    for text in ["转人工", "我要找真人", "人工客服在吗"]:
        d = _drafts(text, facts={}, intent="request_human")[0]
        spans = piece_spans(d.text, d.pieces, TEXTS)
        final = d.text[:spans[-1].start] + "1小时内给您回复。" + d.text[spans[-1].start:]
        records.append(_edit_record(d, final, "request_human"))
    proposals = variant_proposals(records, BOOK, POLICY, min_support=2)
    assert proposals
    top = proposals[0]
    assert top.concern == "request_human" and top.text.endswith("{follow_up}给您回复。") and top.clean
    assert top.support >= 2 and top.examples
    assert all("{" not in sent or "{" in draft for draft, sent in top.examples)


def test_a_proposal_that_breaks_etiquette_is_listed_with_why():
    records = []
    for _ in range(3):
        d = _drafts("转人工", facts={}, intent="request_human")[0]
        spans = piece_spans(d.text, d.pieces, TEXTS)
        final = d.text[:spans[-1].start] + "这个不归我们管。" + d.text[spans[-1].start:]
        records.append(_edit_record(d, final, "request_human"))
    proposals = variant_proposals(records, BOOK, POLICY, min_support=3)
    assert proposals and not proposals[0].clean
    assert any("deflect" in why or "rule" in why for why in proposals[0].problems)


def test_frequent_edits_are_counted_masked_and_with_slots():
    d = _drafts()[0]
    final = d.text + "有事打我电话13812345678。"
    edits = frequent_edits([_edit_record(d, final, "delivery_delay")] * 2, POLICY)
    added = {c: n for _, c, n in edits["added"]}
    assert added.get("有事打我电话<手机号>。") == 2


# ---- (b) NLU examples --------------------------------------------------------------------------

def test_unsure_and_corrected_messages_become_example_proposals():
    records = [{"customer_text": "包裹咋还不动啊我手机13812345678", "intent": "delivery_delay", "confidence": 0.41},
               {"customer_text": "包裹咋还不动啊我手机13812345678", "intent": "delivery_delay", "confidence": 0.45},
               {"customer_text": "谢谢", "intent": "thanks", "confidence": 0.99},
               {"customer_text": "已经有的例子", "intent": "complaint", "confidence": 0.2}]
    corrections = [{"customer_text": "东西到了但是盒子烂了", "detected_intent": "delivery_delay", "corrected": "complaint", "agent": "小王"}]
    training = [Example("complaint", "已经有的例子", "已经有的例子", (), "x.yml", 3)]
    proposals, dropped = nlu_proposals(records, corrections, training)
    assert [(p.intent, p.source) for p in proposals] == [("complaint", "corrected"), ("delivery_delay", "unsure")]
    assert proposals[1].seen == 2 and "<手机号>" in proposals[1].text and "13812345678" not in proposals[1].text
    assert dropped == {"already in the training data": 1}


def test_held_out_sentences_are_never_proposed():
    held = HeldOut([("包裹咋还不动了呢", "eval.tsv:7")])
    proposals, dropped = nlu_proposals([{"customer_text": "包裹咋还不动了呢", "intent": "delivery_delay", "confidence": 0.3}], [], [], held)
    assert not proposals and dropped == {"in a held-out evaluation set": 1}


# ---- from the store to files and back -------------------------------------------------------------

@pytest.fixture
def project(tmp_path):
    """A copy of the data and the templates to merge into."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(DEFAULT_DIR, tmp_path / "replies")
    return tmp_path


def _store_with_decisions(tmp_path):
    store = SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")
    for i, text in enumerate(["转人工", "我要找真人客服", "人工客服在吗", "转人工客服"]):
        s = build_situation(text, intent="request_human")
        drafts = compose(s, policy=POLICY)
        case = store.cases.open_case(f"c{i}", dict(s.to_dict(), nlu={"intent": "request_human", "confidence": 0.9}),
                               [d.to_dict() for d in drafts], text)
        top = drafts[0]
        spans = piece_spans(top.text, top.pieces, TEXTS)
        final = top.text[:spans[-1].start] + "1小时内给您回复。" + top.text[spans[-1].start:]
        shown = store.cases.get_case(case["id"])["drafts"]
        store.decisions.decide(case["id"], "小王", "edit", draft_id=shown[0]["id"], text=final, batch=case["batch"])
    s = build_situation("箱子里的东西少了一件", intent="delivery_delay")
    store.cases.open_case("unsure", dict(s.to_dict(), nlu={"intent": "delivery_delay", "confidence": 0.38}),
                    [d.to_dict() for d in compose(s, policy=POLICY)], "箱子里的东西少了一件 订单4392018876512093")
    return store


def test_mine_writes_masked_proposals_and_apply_merges_only_what_a_person_approved(project):
    store = _store_with_decisions(project)
    result = mine(store, project / "proposals", project / "data", min_support=2)
    assert result.decisions == 4
    templates = yaml.safe_load((project / "proposals" / "templates.yml").read_text(encoding="utf-8"))["proposals"]
    examples = yaml.safe_load((project / "proposals" / "nlu.yml").read_text(encoding="utf-8"))["proposals"]
    assert templates and all(p["approve"] is False for p in templates)
    assert [e["intent"] for e in examples] == ["delivery_delay"]
    assert "4392018876512093" not in (project / "proposals" / "nlu.yml").read_text(encoding="utf-8")
    assert "<订单号>" in examples[0]["text"]

    # Nothing is approved yet: nothing changes.
    before = (project / "data" / "nlu" / "delivery_delay.yml").read_text(encoding="utf-8")
    assert apply_approved(project / "proposals" / "nlu.yml", project / "data") == []
    assert (project / "data" / "nlu" / "delivery_delay.yml").read_text(encoding="utf-8") == before

    # A person approves one example (relabelling it) and one variant.
    nlu_file = project / "proposals" / "nlu.yml"
    nlu_file.write_text(nlu_file.read_text(encoding="utf-8").replace("approve: false", "approve: true", 1)
                        .replace("intent: delivery_delay", "intent: complaint", 1), encoding="utf-8")
    lines = apply_approved(nlu_file, project / "data")
    assert len(lines) == 1 and "added to" in lines[0]
    complaint = (project / "data" / "nlu" / "complaint.yml").read_text(encoding="utf-8")
    assert "箱子里的东西少了一件 订单[4392018876512093](order_id)" in complaint
    from rasa.shared.nlu.training_data.loading import load_data

    merged = load_data(str(project / "data" / "nlu"))
    assert any(m.get("text").startswith("箱子里的东西少了一件") and m.get("intent") == "complaint" for m in merged.intent_examples)
    assert "already in" in apply_approved(nlu_file, project / "data")[0]  # applying twice adds nothing

    tpl_file = project / "proposals" / "templates.yml"
    tpl_file.write_text(tpl_file.read_text(encoding="utf-8").replace("approve: false", "approve: true", 1), encoding="utf-8")
    lines = apply_approved(tpl_file, project / "data", project / "replies")
    assert len(lines) == 1 and "added to" in lines[0]
    book = load_templates(project / "replies", policy=POLICY)  # still loads: the merged variant passes every check
    new_text = templates[0]["text"]
    assert any(v.text == new_text for v in book.variants())
    old_ids = {v.id: v.text for v in BOOK.variants()}
    assert all(book.variant(vid).text == text for vid, text in old_ids.items())  # appended: old ids keep their text


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = cli(argv, out=out, err=err)
    return code, out.getvalue()


def test_cli_mine_and_acceptance(project):
    store = _store_with_decisions(project)
    url = store.url
    code, printed = _run(["mine", "--store", url, "--out", str(project / "out"), "--data", str(project / "data"), "--min-support", "2"])
    assert code == 0 and "reply variant(s) proposed" in printed and (project / "out" / "templates.yml").exists()
    code, report = _run(["acceptance", "--store", url])
    assert code == 0 and "### By concern" in report and "request_human" in report and "{follow_up}给您回复。" in report
    code, printed = _run(["acceptance", "--store", url, "--json"])
    assert code == 0 and '"decisions": 4' in printed
