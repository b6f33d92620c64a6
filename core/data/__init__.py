"""Data for Caption Lab: the COCO captioning loader, the demo dataset, downloads, images."""
