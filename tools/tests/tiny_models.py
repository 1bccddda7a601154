"""Tiny randomly initialised transformers models for the tests, built in a temporary directory:
tokenizers trained on a few sentences with the `tokenizers` library, weights random from a fixed
seed. Nothing is downloaded."""

import os

import torch

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A sparse autoencoder splits a model's activations into many features.",
    "Paris is the capital of France, and Berlin is the capital of Germany.",
    "Seventy-two is larger than fifty-one. Fifty-one is smaller than seventy-two.",
    "The residual stream carries information from one layer to the next one.",
    "Dead features never fire, and dense features fire on almost every token.",
]


def bert_dir(root):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials, show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
    path = os.path.join(root, "tiny-bert")
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).eval().save_pretrained(path)
    return path


def gpt2_dir(root):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                        show_progress=False))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>")
    path = os.path.join(root, "tiny-gpt2")
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=0, eos_token_id=0)
    GPT2LMHeadModel(config).eval().save_pretrained(path)
    return path




def causal_bert_dir(root):
    """BERT with an LM head run as a decoder (BertLMHeadModel, is_decoder): causal attention, so
    next-token loss is defined; the tokenizer adds [CLS] ... [SEP] like BERT's."""
    from transformers import BertConfig, BertLMHeadModel

    path = bert_dir(root)
    causal = os.path.join(root, "tiny-bert-lm")
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(path).save_pretrained(causal)
    torch.manual_seed(1)
    config = BertConfig(vocab_size=AutoTokenizer.from_pretrained(path).vocab_size, hidden_size=32, num_hidden_layers=3,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64, is_decoder=True)
    BertLMHeadModel(config).eval().save_pretrained(causal)
    return causal


def llama_dir(root, layers=3):
    """A Llama (the architecture of SmolLM2) whose tokenizer prepends <s>, like Llama's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "</s>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                        show_progress=False))
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="</s>")
    path = os.path.join(root, "tiny-llama")
    fast.save_pretrained(path)
    torch.manual_seed(2)
    config = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         bos_token_id=bos, eos_token_id=tok.token_to_id("</s>"), tie_word_embeddings=True)
    LlamaForCausalLM(config).eval().save_pretrained(path)
    return path

