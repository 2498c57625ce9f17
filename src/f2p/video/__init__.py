"""Video action recognition at laptop size (chapters 01-05).

``data``            procedural clips of moving digits: appearance, temporal and hard label sets
``flow``            Horn-Schunck optical flow in torch
``models``          one small 2D backbone; TSN, TSM, TRN, ECO-style, non-local, TemporalNet, TDN
``motion``          feature-level temporal modules: STM, TEA, TAM, TDN's long-term difference
``spatiotemporal``  3D and (2+1)D networks, I3D inflation, temporal-kernel uniformity
``zoo``             every classifier by name with its input transform (notebooks and benchmarks)
``train``           training/evaluation loops and TSN's segment sampling
"""
