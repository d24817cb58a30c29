"""Figures and widgets: everything that draws. Compute never imports this
package; it imports compute (for result types) and matplotlib.

``images``: overlays, image grids, top-k bars, boxes; ``features``: filters,
activation maps, patches, embeddings, activation-maximization runs;
``evaluation``: sanity checks, deletion/insertion curves, training histories;
``widgets``: the lessons' explorers.
"""

from .images import (
                     ZERO_MAP_LABEL,
                     clip_outliers,
                     draw_boxes,
                     label_zero_map,
                     overlay,
                     plot_attributions,
                     plot_predictions,
                     plot_tiles,
                     plot_topk,
                     show_images,
                     tile,
)

__all__ = ["ZERO_MAP_LABEL", "clip_outliers", "draw_boxes", "label_zero_map", "overlay", "plot_attributions",
           "plot_predictions", "plot_tiles", "plot_topk", "show_images", "tile"]
