"""Image backend: torchvision ResNets, multi-crop, ImageNet/CIFAR/STL data, SwAV recipes.

Entry points: :func:`swav_ts.image.pretrain.pretrain` and :func:`swav_ts.evaluation.image.evaluate`.
Needs torchvision (``pip install swav-ts[image]``). Never imports the time-series backend.
"""
