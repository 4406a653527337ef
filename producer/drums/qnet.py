"""A Q-network that shares its weights across steps (imports torch and stable-baselines3).

The value of toggling step t of voice v depends mostly on what happens at that step: its
one-step gain (in the observation), whether the kick and the other voices play there or next to
it, how many hits the voice has against its target density, where the step sits in the bar. So
every toggle action is scored by ONE small MLP from those local features (weights shared over
steps and voices). Stopping ends the episode with reward 0, so its value is exactly 0 and is not
learnt. During development a plain MLP from the whole observation (then without the gains) fitted
the imitation targets to an MSE of about 0.7 (target variance 6.4); this network, with the
gains, to about 0.01.

Features of action (v, t), 2 + 3 + 4 + 2V + T numbers: gain[v, t], hit[v, t], kick at t-1, t,
t+1, the voice's density, its target density, their difference and its target syncopation, the
other voices' hits at t (V), the voice one-hot (V), the step one-hot (T). Observation layout: see
producer.drums.env.
"""
from __future__ import annotations

import torch
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn


class FactoredQNetwork(QNetwork):
    def __init__(self, observation_space, action_space, features_extractor, features_dim,
                 net_arch=None, activation_fn=nn.ReLU, normalize_images=True, n_voices=4):
        super().__init__(observation_space, action_space, features_extractor, features_dim,
                         net_arch=[8], activation_fn=activation_fn,
                         normalize_images=normalize_images)
        n = int(action_space.n) - 1
        self.V, self.T = n_voices, n // n_voices
        if int(observation_space.shape[0]) != self.T + 2 * n + 2 * self.V:
            raise ValueError(f"observation of {observation_space.shape[0]} numbers does not fit "
                             f"{self.V} voices x {self.T} steps")
        sizes = [2 + 3 + 4 + 2 * self.V + self.T] + list(net_arch or [64, 64])
        layers = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), activation_fn()]
        layers.append(nn.Linear(sizes[-1], 1))
        self.q_net = nn.Sequential(*layers)
        self.net_arch = list(net_arch or [64, 64])
        eye_v, eye_t = torch.eye(self.V), torch.eye(self.T)
        self.register_buffer("voice_id", eye_v[:, None, :].expand(self.V, self.T, self.V).clone())
        self.register_buffer("step_id", eye_t[None, :, :].expand(self.V, self.T, self.T).clone())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = self.extract_features(obs, self.features_extractor)
        B, V, T = x.shape[0], self.V, self.T
        kick = x[:, :T]
        hits = x[:, T:T + V * T].reshape(B, V, T)
        style = x[:, T + V * T:T + 2 * V * T].reshape(B, V, T)  # the one-step gains
        d_target = x[:, T + 2 * V * T:T + 2 * V * T + V][..., None].expand(B, V, T)
        s_target = x[:, T + 2 * V * T + V:][..., None].expand(B, V, T)
        k3 = torch.stack([torch.roll(kick, 1, 1), kick, torch.roll(kick, -1, 1)], -1)  # B,T,3
        count = hits.sum(-1, keepdim=True).expand(B, V, T) / T
        others = hits.permute(0, 2, 1)[:, None, :, :].expand(B, V, T, V)  # B,V,T,V
        feats = torch.cat([style[..., None], hits[..., None], k3[:, None].expand(B, V, T, 3),
                           count[..., None], d_target[..., None], (count - d_target)[..., None],
                           s_target[..., None], others,
                           self.voice_id.expand(B, V, T, V), self.step_id.expand(B, V, T, T)],
                          -1)
        q = self.q_net(feats).reshape(B, V * T)
        return torch.cat([q, torch.zeros(B, 1, device=q.device, dtype=q.dtype)], 1)

    def _get_constructor_parameters(self):
        data = super()._get_constructor_parameters()
        data["net_arch"] = self.net_arch
        data["n_voices"] = self.V
        return data


class FactoredDQNPolicy(DQNPolicy):
    """DQNPolicy whose online and target networks are FactoredQNetwork (``n_voices`` voices)."""

    def __init__(self, *args, n_voices: int = 4, **kwargs):
        object.__setattr__(self, "n_voices", n_voices)  # make_q_net runs inside __init__
        super().__init__(*args, **kwargs)

    def make_q_net(self) -> FactoredQNetwork:
        args = self._update_features_extractor(self.net_args, features_extractor=None)
        return FactoredQNetwork(**args, n_voices=self.n_voices).to(self.device)

    def _get_constructor_parameters(self):
        data = super()._get_constructor_parameters()
        data["n_voices"] = self.n_voices
        return data
