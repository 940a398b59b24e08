"""SASRec-style sequential retrieval (Kang & McAuley, 2018) in PyTorch.

A causal transformer reads a shopper's recent items and predicts the next one with a
full softmax over the catalogue (the loss matters more than the architecture). An
item's vector is its id embedding plus its category and price-bucket embeddings; id
embeddings are dropped at random in training, so items the model never saw still get
useful vectors from their side features.

A side feature with a single value in the catalogue (one category, one price bucket: a
shop that sends placeholders) carries no information and is left out, and so is id
dropout when no side feature is left. Otherwise the shared embedding, trained by every
item, swamps the id embeddings in the encoder's input (its layer norm then sees almost
the same vector for every item, and every shopper gets the same few items), and id
dropout makes the dropped items identical. Batches hold sequences of similar length,
each padded only to its longest (sequences of real shoppers are short).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable

import numpy as np
import polars as pl
import torch
from torch import nn

from training.recommender.config import SequentialConfig
from training.recommender.data import Catalogue

log = logging.getLogger(__name__)
PAD = 0


class SASRec(nn.Module):
    """The network: item vectors from ids and side features, a causal encoder."""

    def __init__(self, catalogue: Catalogue, cfg: SequentialConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.dim
        self.item = nn.Embedding(catalogue.size + 1, d, padding_idx=PAD)
        # side features with a single value carry nothing and would swamp the ids
        self.use_category = bool(np.ptp(catalogue.category) > 0) if catalogue.size else False
        self.use_price = bool(np.ptp(catalogue.price_bucket) > 0) if catalogue.size else False
        self.category = nn.Embedding(int(catalogue.category.max()) + 2, d, padding_idx=PAD)
        self.price = nn.Embedding(int(catalogue.price_bucket.max()) + 2, d, padding_idx=PAD)
        self.position = nn.Embedding(cfg.max_length, d)
        layer = nn.TransformerEncoderLayer(
            d, cfg.heads, 2 * d, cfg.dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.dropout = nn.Dropout(cfg.dropout)
        # side features by token (token = item position + 1; 0 pads)
        self.register_buffer("item_category", torch.tensor(np.r_[0, catalogue.category + 1]))
        self.register_buffer("item_price", torch.tensor(np.r_[0, catalogue.price_bucket + 1]))
        for table in (self.item, self.category, self.price, self.position):
            nn.init.normal_(table.weight, std=0.02)  # positions too: N(0, 1) swamps items
        for table in (self.item, self.category, self.price):
            with torch.no_grad():
                table.weight[PAD] = 0.0

    def item_vectors(self) -> torch.Tensor:
        """Vectors of every token (row 0 is padding)."""
        ids = self.item.weight
        if not (self.use_category or self.use_price):
            return ids  # no side feature could stand in for a dropped id
        if self.training and self.cfg.id_dropout > 0:
            keep = torch.rand(ids.shape[0], 1, device=ids.device) >= self.cfg.id_dropout
            ids = ids * keep
        if self.use_category:
            ids = ids + self.category(self.item_category)
        if self.use_price:
            ids = ids + self.price(self.item_price)
        return ids

    def forward(self, tokens: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """Hidden states (batch, length, dim) of left-padded token sequences."""
        length = tokens.shape[1]
        x = vectors[tokens] * math.sqrt(self.cfg.dim)
        x = self.dropout(x + self.position.weight[-length:])
        return self.norm(self.encoder(x, mask=self.attention_mask(tokens)))

    def attention_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """Boolean mask (batch x heads, length, length), true where attention is barred.

        Causal, and no position attends to padding, except that every position attends to
        itself: a padding row with every key barred would give NaN (the no-grad fast path
        of ``nn.TransformerEncoder`` propagates it into the real positions of left-padded
        sequences, which made every short-history shopper's scores NaN).
        """
        length = tokens.shape[1]
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
        barred = causal | (tokens == PAD)[:, None, :]
        barred &= ~torch.eye(length, dtype=torch.bool)
        return barred.repeat_interleave(self.cfg.heads, dim=0)


def _sequences(events: pl.DataFrame, length: int) -> list[np.ndarray]:
    """Each shopper's item positions in time order, consecutive repeats folded, the last
    ``length`` kept."""
    seqs = (
        events.sort("timestamp")
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("item"))["item"]
        .to_list()
    )
    out = []
    for seq in seqs:
        arr = np.asarray(seq, dtype=np.int64)
        arr = arr[np.r_[True, arr[1:] != arr[:-1]]] if len(arr) else arr
        out.append(arr[-length:])
    return out


def _length_batches(
    lengths: np.ndarray, batch_size: int, generator: np.random.Generator
) -> list[np.ndarray]:
    """Batches of sequence indices of similar length (random within equal lengths), in
    random order, so that each batch is padded only to its own longest sequence."""
    order = np.lexsort((generator.random(len(lengths)), lengths))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in generator.permutation(len(batches))]


def _left_pad(seqs: list[np.ndarray], length: int) -> torch.Tensor:
    """Token matrix (item position + 1), right-aligned."""
    out = np.zeros((len(seqs), length), dtype=np.int64)
    for row, seq in enumerate(seqs):
        tail = seq[-length:]
        if len(tail):
            out[row, -len(tail) :] = tail + 1
    return torch.from_numpy(out)


class SequentialRecommender:
    """Fit and score with :class:`SASRec`; shoppers without history get ``fallback``."""

    name = "sequential"

    def __init__(
        self,
        catalogue: Catalogue,
        cfg: SequentialConfig,
        fallback: Callable[[list[np.ndarray]], np.ndarray],
    ) -> None:
        self.catalogue, self.cfg, self.fallback = catalogue, cfg, fallback
        torch.manual_seed(cfg.seed)
        self.model = SASRec(catalogue, cfg)
        self.epochs_run = 0
        self.history: list[dict[str, float]] = []

    def fit(
        self,
        events: pl.DataFrame,
        validate: Callable[[SequentialRecommender], float] | None = None,
        on_epoch: Callable[[int, float], None] | None = None,
    ) -> SequentialRecommender:
        """Train on ``events`` with next-item full-softmax loss.

        Args:
            events: Training events (user_id, item, timestamp).
            validate: Returns a validation metric (higher is better) for early stopping;
                the best epoch's weights are kept.
            on_epoch: Called with (epoch, loss) after each epoch (progress).
        """
        torch.set_num_threads(self.cfg.threads)
        seqs = [s for s in _sequences(events, self.cfg.max_length + 1) if len(s) >= 2]
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        optimiser = torch.optim.Adam(self.model.parameters(), lr=self.cfg.learning_rate)
        generator = np.random.default_rng(self.cfg.seed)
        best, best_state, stale = -np.inf, None, 0
        started = time.perf_counter()
        for epoch in range(self.cfg.epochs):
            self.model.train()
            total, batches = 0.0, 0
            for idx in _length_batches(lengths, self.cfg.batch_size, generator):
                tokens = _left_pad([seqs[i] for i in idx], int(lengths[idx].max()))
                inputs, targets = tokens[:, :-1], tokens[:, 1:]
                vectors = self.model.item_vectors()
                hidden = self.model(inputs, vectors)
                mask = (targets != PAD) & (inputs != PAD)
                logits = hidden[mask] @ vectors[1:].T
                loss = nn.functional.cross_entropy(logits, targets[mask] - 1)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total, batches = total + loss.item(), batches + 1
            self.epochs_run = epoch + 1
            record = {"epoch": float(epoch + 1), "loss": total / max(batches, 1)}
            if validate is not None:
                record["validation"] = validate(self)
                if record["validation"] > best:
                    best, stale = record["validation"], 0
                    best_state = copy.deepcopy(self.model.state_dict())
                else:
                    stale += 1
            self.history.append(record)
            if on_epoch is not None:
                on_epoch(epoch + 1, record["loss"])
            log.info("sequential epoch %d: %s", epoch + 1, record)
            if stale >= self.cfg.patience or time.perf_counter() - started > self.cfg.max_seconds:
                break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        return self

    def _eval(self) -> None:
        if self.model.training:  # switching every module costs more than a short pass
            self.model.eval()

    @torch.no_grad()
    def item_embeddings(self) -> np.ndarray:
        """One vector per catalogue item (for serving and similar items)."""
        self._eval()
        return self.model.item_vectors()[1:].numpy()

    @torch.no_grad()
    def user_embeddings(
        self, histories: list[np.ndarray], vectors: torch.Tensor | None = None
    ) -> np.ndarray:
        """The encoder's state after each history (its last item); ``vectors``: the
        token vectors if already computed."""
        self._eval()
        folded = [h[np.r_[True, h[1:] != h[:-1]]] if len(h) else h for h in histories]
        longest = max((len(h) for h in folded), default=1)
        tokens = _left_pad(folded, max(1, min(self.cfg.max_length, longest)))
        tokens[tokens.sum(dim=1) == 0, -1] = 1  # keep empty rows finite; scored by fallback
        vectors = self.model.item_vectors() if vectors is None else vectors
        return self.model(tokens, vectors)[:, -1].numpy()

    @torch.no_grad()
    def score(self, histories: list[np.ndarray]) -> np.ndarray:
        """Every item's score after each history (the fallback's for empty ones)."""
        self._eval()
        vectors = self.model.item_vectors()
        scores = self.user_embeddings(histories, vectors) @ vectors[1:].numpy().T
        empty = np.array([len(h) == 0 for h in histories])
        if empty.any():
            scores[empty] = self.fallback([histories[i] for i in np.flatnonzero(empty)])
        return scores
