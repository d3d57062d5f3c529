"""The learned side of placement: training, the model registry, the learned predictor,
explanations and the pure metrics of the evaluation. Takes DataFrames; never reads logs
or runs the simulator itself (that composition lives in ``roost``).
"""
