"""Where a network looks: occlusion, gradients and their ReLU rules, SmoothGrad, the CAM family."""

