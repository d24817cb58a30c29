"""Where a network looks: occlusion, gradients and their backward ReLU rules (saliency,
guided backprop, deconvnet), SmoothGrad, the CAM family, and the propagation methods with
axioms (Integrated Gradients, LRP)."""
