"""Learning-rate schedule: linear warmup, then cosine decay to a floor (src/train/schedule.ts).

    step < warmup            lr · (step + 1) / (warmup + 1)
    warmup ≤ step ≤ decay    min_lr + ½ (1 + cos(π · progress)) · (lr − min_lr)
    step > decay             min_lr

``step`` counts optimizer updates from 0; ``decay_steps`` is the run's total steps.
"""
import math


def learning_rate(step, lr, min_lr, warmup_steps, decay_steps):
    if step < warmup_steps:
        return lr * (step + 1) / (warmup_steps + 1)
    if step > decay_steps:
        return min_lr
    span = decay_steps - warmup_steps
    progress = 1 if span <= 0 else (step - warmup_steps) / span
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)
