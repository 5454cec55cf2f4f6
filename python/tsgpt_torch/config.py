"""config.json → a checked model config, by the rules tsgpt reads it with.

The architecture description is Hugging Face's config.json (LlamaForCausalLM / GPT2LMHeadModel),
the file every tsgpt checkpoint carries. The rules mirror tsgpt's src/formats/model_config.ts:
the same defaults (transformers' own), the same divisibility checks. Anything tsgpt's GPT-2 or
Llama would not build the same way here (another family, rope scaling, biases on Llama
projections, another activation) is refused with the field named, before any training step.
"""
import json

from .errors import RunDirError

ARCHITECTURES = {"LlamaForCausalLM": "llama", "GPT2LMHeadModel": "gpt2"}


class _Fields:
    """Typed access to a config object; a missing or null field takes the default."""

    def __init__(self, source, obj):
        self.source = source
        self.obj = obj

    def fail(self, field, expected, got=None):
        got = self.obj.get(field) if got is None else got
        raise RunDirError(self.source, field, f"expected {expected}, got {json.dumps(got)}")

    def get(self, field, default=None):
        v = self.obj.get(field)
        return default if v is None else v

    def positive_int(self, field, default=None):
        v = self.get(field, default)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            self.fail(field, "a positive integer")
        return v

    def positive_number(self, field, default=None):
        v = self.get(field, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v == float("inf"):
            self.fail(field, "a positive number")
        return float(v)

    def boolean(self, field, default):
        v = self.get(field, default)
        if not isinstance(v, bool):
            self.fail(field, "true or false")
        return v

    def one_of(self, field, allowed, default, why):
        v = self.get(field, default)
        if v not in allowed:
            self.fail(field, " or ".join(json.dumps(a) for a in allowed) + why)
        return v

    def absent_or(self, field, allowed_value, why):
        """Fields tsgpt's model does not implement: only their neutral value is accepted."""
        v = self.obj.get(field)
        if v is not None and v != allowed_value:
            self.fail(field, f"{json.dumps(allowed_value)} or nothing ({why})")

    def divides(self, field, a, of, b):
        if b % a != 0:
            self.fail(field, f"a divisor of {of} ({b})", a)


def _family(f, obj):
    archs = obj.get("architectures")
    if archs is not None:
        if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
            f.fail("architectures", "a list of class names")
        for a in archs:
            if a in ARCHITECTURES:
                return ARCHITECTURES[a]
    if obj.get("model_type") in ("llama", "gpt2"):
        return obj["model_type"]
    field = "architectures" if archs is not None else "model_type"
    f.fail(field, 'LlamaForCausalLM or GPT2LMHeadModel (model_type "llama" or "gpt2"): '
                  "tsgpt_torch mirrors only these two families", archs if archs is not None else obj.get("model_type"))


def _llama(f):
    heads = f.positive_int("num_attention_heads")
    c = {
        "model_type": "llama",
        "vocab_size": f.positive_int("vocab_size"),
        "hidden_size": f.positive_int("hidden_size"),
        "intermediate_size": f.positive_int("intermediate_size"),
        "num_hidden_layers": f.positive_int("num_hidden_layers"),
        "num_attention_heads": heads,
        "num_key_value_heads": f.positive_int("num_key_value_heads", heads),
        "max_position_embeddings": f.positive_int("max_position_embeddings", 2048),
        "rms_norm_eps": f.positive_number("rms_norm_eps", 1e-6),
        "rope_theta": f.positive_number("rope_theta", 10000),
        "tie_word_embeddings": f.boolean("tie_word_embeddings", False),
    }
    f.divides("num_attention_heads", heads, "hidden_size", c["hidden_size"])
    if (c["hidden_size"] // heads) % 2 != 0:
        f.fail("hidden_size", "hidden_size / num_attention_heads to be even (rotary embeddings turn pairs)", c["hidden_size"])
    f.divides("num_key_value_heads", c["num_key_value_heads"], "num_attention_heads", heads)
    f.one_of("hidden_act", ["silu"], "silu", " (Llama's SwiGLU)")
    f.absent_or("rope_scaling", None, "tsgpt's Llama has plain RoPE")
    f.absent_or("attention_bias", False, "tsgpt's Llama projections have no bias")
    f.absent_or("mlp_bias", False, "tsgpt's Llama projections have no bias")
    f.absent_or("head_dim", c["hidden_size"] // heads, "hidden_size / num_attention_heads")
    return c


def _gpt2(f):
    c = {
        "model_type": "gpt2",
        "vocab_size": f.positive_int("vocab_size"),
        "n_embd": f.positive_int("n_embd"),
        "n_layer": f.positive_int("n_layer"),
        "n_head": f.positive_int("n_head"),
        "n_positions": f.positive_int("n_positions", 1024),
        "layer_norm_epsilon": f.positive_number("layer_norm_epsilon", 1e-5),
        "activation_function": f.one_of("activation_function", ["gelu_new", "gelu_pytorch_tanh"], "gelu_new",
                                        " (the tanh form of GELU)"),
        "tie_word_embeddings": f.boolean("tie_word_embeddings", True),
        "bias": f.boolean("bias", True),  # tsgpt's extension: false drops every bias (nanoGPT's option)
    }
    c["n_inner"] = f.positive_int("n_inner") if f.obj.get("n_inner") is not None else 4 * c["n_embd"]
    f.divides("n_head", c["n_head"], "n_embd", c["n_embd"])
    if not c["tie_word_embeddings"]:
        f.fail("tie_word_embeddings", "true (tsgpt's GPT-2 uses the token embedding as its lm_head)")
    return c


def parse_config(obj, source="config.json"):
    """A config.json object → a dict of the fields the model needs, defaults filled in."""
    if not isinstance(obj, dict):
        raise RunDirError(source, "(root)", "expected a JSON object")
    f = _Fields(source, obj)
    return _llama(f) if _family(f, obj) == "llama" else _gpt2(f)


def read_config(path):
    """Reads and checks a config.json file."""
    try:
        with open(path, "rb") as fh:
            obj = json.loads(fh.read().decode("utf-8"))
    except FileNotFoundError:
        raise RunDirError(path, "file", "missing: a checkpoint needs config.json") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RunDirError(path, "JSON", f"not valid JSON ({e})") from None
    return parse_config(obj, str(path))


def context_length(config):
    return config["max_position_embeddings"] if config["model_type"] == "llama" else config["n_positions"]
