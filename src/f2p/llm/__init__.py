"""RL for LLM reasoning at laptop size (chapter 11, Kimi k1.5).

``tasks``      zero-padded addition with a chain of thought; the answer parser and reward
``model``      a tiny GPT with a key-value cache; sampling; response log-probabilities
``losses``     k1.5's loss, REINFORCE, GRPO, the length penalty, DPO
``sampling``   curriculum and prioritized problem sampling
``train``      supervised warm-up, the RL loop, evaluation (pass@1, pass@k, length)
``long2short`` shortest rejection sampling, DPO pairs, model merging
"""
