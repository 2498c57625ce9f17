"""Online action detection at laptop size (chapter 06).

``data``     untrimmed synthetic streams, a frozen chunk encoder, windows of chunk features
``models``   chunk classifier, GRU/LSTM, TRN, IDN (with the IDU cell), OadTR and its ablations
``metrics``  per-frame mAP (THUMOS'14) and calibrated mAP (TVSeries)
``train``    training, streaming inference and evaluation
"""
