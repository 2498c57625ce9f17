"""Video action recognition at laptop size (chapters 01-03).

``data``    procedural clips of moving digits, appearance and temporal label sets
``flow``    Horn-Schunck optical flow in torch
``models``  one small 2D backbone; TSN, TSM, TRN, ECO-style and non-local classifiers
``train``   training/evaluation loops and TSN's segment sampling
"""
