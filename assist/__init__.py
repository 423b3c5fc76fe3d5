"""kefu-assist's reply-drafting core: no Rasa imports, usable from any bot.

    from assist.drafting.situation import build_situation   # what is going on with this customer
    from assist.drafting.composer import compose            # 2–3 ranked, checker-clean drafts
    from assist.drafting.checker import check               # etiquette + shop-policy findings on any text
    from assist.shop.policy import load_policy          # policy.yml as frozen dataclasses
    from assist.drafting.faq import answer                  # the first-line bot's own answers
    from assist.drafting.holding import holding_message     # what the customer hears while a person takes over

Data the builders edit: policy.yml, etiquette.yml, cues.yml, replies/*.yml;
`python -m assist lint` validates them all. Nothing is loaded at import time.
"""
