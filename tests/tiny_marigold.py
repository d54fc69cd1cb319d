"""A tiny random-weight Marigold pipeline, built from components the way diffusers' own
tests/pipelines/marigold do, and saved with ``save_pretrained``: the tests load it through
``from_pretrained``, exactly the path a downloaded checkpoint takes. Its predictions are
noise, but their shape, frame, determinism and plumbing are real.

The CLIP tokenizer is built from a four-token vocabulary written here (no hub access).
"""

from __future__ import annotations

import json
from pathlib import Path


def build(folder: Path, task: str = "normals") -> Path:
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        MarigoldDepthPipeline,
        MarigoldNormalsPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=8,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32)
    # Four levels, as Stable Diffusion's VAE has: latents 1/8 of the image (two levels
    # would leave them at 1/2, and the mid-block's attention quadratic in that).
    vae = AutoencoderKL(block_out_channels=[32] * 4, in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 4,
                        up_block_types=["UpDecoderBlock2D"] * 4, layers_per_block=1,
                        latent_channels=4)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              prediction_type="v_prediction", set_alpha_to_one=False,
                              steps_offset=1, clip_sample=False, thresholding=False)
    words = folder.parent / f"{folder.name}_vocab"
    words.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2, "a</w>": 3}
    (words / "vocab.json").write_text(json.dumps(vocab))
    (words / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(words / "vocab.json"), str(words / "merges.txt"),
                              model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-5, num_attention_heads=4, num_hidden_layers=2,
        vocab_size=len(vocab), projection_dim=32))
    cls = MarigoldNormalsPipeline if task == "normals" else MarigoldDepthPipeline
    extra = {"prediction_type": task}
    if task == "depth":
        extra.update(scale_invariant=True, shift_invariant=True)
    pipe = cls(unet=unet, vae=vae, scheduler=scheduler, text_encoder=text_encoder,
               tokenizer=tokenizer, default_denoising_steps=2,
               default_processing_resolution=64, **extra)
    pipe.save_pretrained(folder)
    return folder
