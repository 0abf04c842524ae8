"""Static GPU evidence for danlu's CUDA kernels (scripts/gpu-resources.py):
ptxas resources, theoretical H100 occupancy and the SASS instruction mix of
hot loops, computed without a GPU."""
