"""Training of all region networks at once, in one torch model (private; imports torch).

Every region has its own small network (inputs -> `hidden` -> classes). All regions, and all
cross-validation fold copies of them, are trained together as one batched model: weights
of shape (G, R, L, h) where G = folds + 1 (the last copy sees all the training data), R the
regions, L the largest region input (smaller regions are zero padded, which changes
nothing). The loss is the sum of every (copy, region) problem's class-balanced mean
negative log-likelihood plus an L2 penalty, so the problems are independent and one Adam
run trains them all.
"""

from __future__ import annotations

import logging

import numpy as np

from .._cores import available_cores

__all__ = ["train_region_networks", "region_log_proba"]

logger = logging.getLogger(__name__)

#: Final learning rate of the cosine schedule, as a fraction of the initial one.
FINAL_LR_FRACTION = 0.05
#: Adam's moment decay rates and epsilon (the usual values).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def adam_step(torch, params, grads, moments, step, lr):
    """One Adam update of `params` in place (torch.optim imports torch._dynamo, ~6 s)."""
    with torch.no_grad():
        c1 = 1 - ADAM_BETAS[0] ** step
        c2 = 1 - ADAM_BETAS[1] ** step
        for p, g, (m1, m2) in zip(params, grads, moments):
            m1.mul_(ADAM_BETAS[0]).add_(g, alpha=1 - ADAM_BETAS[0])
            m2.mul_(ADAM_BETAS[1]).addcmul_(g, g, value=1 - ADAM_BETAS[1])
            denom = (m2 / c2).sqrt_().add_(ADAM_EPS)
            p.addcdiv_(m1, denom, value=-lr / c1)


#: Multiply-adds per training step above which more than one CPU thread is used.
THREADED_WORK = 2e8
#: Rows per chunk when evaluating the trained models on all spectra.
EVAL_CHUNK = 2048


def _device(device):
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _threads(n_threads, work):
    """CPU threads for training: the given number, else 1 for small steps, else all cores.

    Threads cost more than they save on small steps, the more so on a busy machine.
    """
    if n_threads is not None:
        return int(n_threads)
    if work < THREADED_WORK:
        return 1
    return available_cores()


def _forward(torch, x, W1, b1, W2, b2, activation, G):
    """Log-probabilities (R, G, B, C) of every (region, copy) network; x is (R, B, L).

    W1 (R, L, G*h) and b1 (R, 1, G*h) hold all copies side by side, so the first layer is
    one batched matmul over regions; W2 (R*G, h, C), b2 (R*G, 1, C).
    """
    R, B, _ = x.shape
    h = W1.shape[2] // G
    z = torch.baddbmm(b1, x, W1)
    a = torch.relu(z) if activation == "relu" else torch.tanh(z)
    a = a.view(R, B, G, h).permute(0, 2, 1, 3).reshape(R * G, B, h)
    o = torch.baddbmm(b2, a, W2)
    return torch.log_softmax(o, dim=-1).view(R, G, B, -1)


def train_region_networks(
    F,
    y,
    n_classes,
    train_masks,
    n_inputs,
    *,
    hidden,
    activation,
    max_iter,
    learning_rate,
    alpha,
    batch_size,
    seed,
    device="auto",
    n_threads=None,
):
    """Train every (fold copy, region) network; return numpy weights and held-out log-probas.

    Parameters
    ----------
    F : numpy.ndarray of shape (n, R, L), float32
        Standardised inputs of each region (zero padded to L).
    y : numpy.ndarray of int of shape (n,)
        Class index of each spectrum.
    n_classes : int
        Number of classes.
    train_masks : numpy.ndarray of bool of shape (G, n)
        Which spectra each copy trains on.
    n_inputs : numpy.ndarray of int of shape (R,)
        Real (unpadded) inputs of each region.
    hidden, activation, max_iter, learning_rate, alpha, batch_size, seed, device, n_threads
        Network size, activation ('relu' or 'tanh'), Adam steps, initial learning rate, L2
        penalty, minibatch size, seed of the torch generator, torch device, CPU threads.

    Returns
    -------
    params : dict of str to numpy.ndarray
        ``W1`` (G, R, L, h), ``b1`` (G, R, h), ``W2`` (G, R, h, C), ``b2`` (G, R, C).
    log_proba : numpy.ndarray of shape (G, n, R, C), float32
        Every copy's per-region log-probabilities on every spectrum.
    """
    import torch

    n, R, L = F.shape
    G = train_masks.shape[0]
    work = min(n, batch_size) * R * L * G * hidden
    old_threads = torch.get_num_threads()
    torch.set_num_threads(_threads(n_threads, work))
    try:
        dev = _device(device)
        gen = torch.Generator().manual_seed(int(seed))
        Ft = torch.from_numpy(np.ascontiguousarray(F.transpose(1, 0, 2), dtype=np.float32)).to(dev)
        yt = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(dev)
        # class-balanced weights of each copy's training spectra
        masks = np.asarray(train_masks, dtype=np.float64)
        counts = np.stack([np.bincount(y, weights=mk, minlength=n_classes) for mk in masks])
        sw = masks / np.maximum(counts[:, y], 1.0)
        swt = torch.from_numpy(sw.astype(np.float32)).to(dev)
        rows = torch.arange(L)[None, :] < torch.from_numpy(np.asarray(n_inputs))[:, None]
        scale = 1.0 / np.sqrt(np.maximum(np.asarray(n_inputs, dtype=np.float64), 1.0))
        W1 = torch.randn(R, L, G * hidden, generator=gen) * torch.from_numpy(
            scale.astype(np.float32)
        )[:, None, None]
        W1 = (W1 * rows[:, :, None]).to(dev).requires_grad_()
        b1 = torch.zeros(R, 1, G * hidden, device=dev, requires_grad=True)
        W2 = (torch.randn(R * G, hidden, n_classes, generator=gen) / np.sqrt(hidden)).to(dev)
        W2.requires_grad_()
        b2 = torch.zeros(R * G, 1, n_classes, device=dev, requires_grad=True)
        params = [W1, b1, W2, b2]
        # a few lines of Adam with a cosine schedule, by hand: torch.optim imports
        # torch._dynamo, which costs seconds of import on a small machine
        moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
        lr_min = learning_rate * FINAL_LR_FRACTION
        full = n <= batch_size
        loss = torch.zeros(())
        for step in range(1, max_iter + 1):
            if full:
                x, yy, w = Ft, yt, swt
            else:
                idx = torch.randint(n, (batch_size,), generator=gen).to(dev)
                x, yy, w = Ft[:, idx], yt[idx], swt[:, idx]
            lp = _forward(torch, x, W1, b1, W2, b2, activation, G)  # (R, G, B, C)
            B = yy.shape[0]
            nll = -lp.gather(-1, yy.view(1, 1, B, 1).expand(R, G, B, 1)).squeeze(-1)
            wn = w / w.sum(dim=1, keepdim=True).clamp_min(1e-12)
            loss = (nll * wn[None]).sum() + alpha * (W1.square().sum() + W2.square().sum())
            grads = torch.autograd.grad(loss, params)
            cosine = 0.5 * (1 + np.cos(np.pi * (step - 1) / max_iter))
            lr = lr_min + (learning_rate - lr_min) * cosine
            adam_step(torch, params, grads, moments, step, lr)
        with torch.no_grad():
            out = torch.cat(
                [
                    _forward(torch, Ft[:, i:i + EVAL_CHUNK], W1, b1, W2, b2, activation, G)
                    for i in range(0, n, EVAL_CHUNK)
                ],
                dim=2,
            )  # (R, G, n, C)
        logger.debug("trained %d x %d region networks, final loss %.4g", G, R, loss.item())
        W1n = W1.detach().cpu().numpy().reshape(R, L, G, hidden).transpose(2, 0, 1, 3)
        b1n = b1.detach().cpu().numpy().reshape(R, G, hidden).transpose(1, 0, 2)
        W2n = W2.detach().cpu().numpy().reshape(R, G, hidden, n_classes).transpose(1, 0, 2, 3)
        b2n = b2.detach().cpu().numpy().reshape(R, G, n_classes).transpose(1, 0, 2)
        result = {"W1": W1n, "b1": b1n, "W2": W2n, "b2": b2n}
        return result, out.cpu().numpy().transpose(1, 2, 0, 3)
    finally:
        torch.set_num_threads(old_threads)


def region_log_proba(params, F, activation, copy=-1):
    """Per-region log-probabilities of one trained copy, in numpy (n, R, C)."""
    W1, b1, W2, b2 = (params[k][copy] for k in ("W1", "b1", "W2", "b2"))
    z = np.einsum("nrl,rlh->nrh", F, W1) + b1
    a = np.maximum(z, 0) if activation == "relu" else np.tanh(z)
    o = np.einsum("nrh,rhc->nrc", a, W2) + b2
    o -= o.max(axis=-1, keepdims=True)
    return o - np.log(np.exp(o).sum(axis=-1, keepdims=True))
