"""tsgpt_torch: continue a tsgpt run directory on PyTorch (DDP, torchrun) and write it back.

One module per job:

    errors.py          RunDirError: bad input names the file, the field and what was expected
    config.py          config.json → a checked ModelConfig (the same rules as tsgpt's model_config.ts)
    model.py           GPT-2 and Llama in torch, with tsgpt's parameter names
    safetensors_io.py  the safetensors format, read and written with numpy
    token_cache.py     tsgpt's token cache (.tokens files)
    rng.py             MT19937, the generator behind tsgpt's data order
    data.py            random windows of the token stream, split over the ranks
    schedule.py        warmup + cosine learning rate
    optim.py           torch.optim.AdamW with the moments of optimizer.safetensors
    run_dir.py         finds, verifies and loads a run directory's checkpoint
    checkpoint.py      writes a checkpoint in tsgpt's exact layout, atomically
    train_log.py       log.jsonl, the machine-readable training log
    train.py           the entry point: torchrun -m tsgpt_torch.train --run DIR --steps S
"""
