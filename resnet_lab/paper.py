"""Numbers from He et al. 2015 (arXiv 1512.03385) that our code and figures are checked against.

One place for the paper's facts: tests, the architecture table, Table 6 and the figures read
them from here.
"""

CIFAR_DEPTHS = (20, 32, 44, 56, 110, 1202)

# Table 6: parameters (millions) and test error (%) of the option-A ResNets on CIFAR-10.
CIFAR_PARAMS_M = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7, 1202: 19.4}
TABLE6_TEST_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}
TABLE6_RESNET110_MEAN_STD = (6.61, 0.16)  # over 5 runs

IMAGENET_DEPTHS = (18, 34, 50, 101, 152)
# Table 1: multiply-adds (x 10^9) for 224x224 inputs.
IMAGENET_GFLOPS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}
# torchvision's resnet18..152, which equal ours with option-B shortcuts.
TORCHVISION_PARAMS = {
    18: 11_689_512,
    34: 21_797_672,
    50: 25_557_032,
    101: 44_549_160,
    152: 60_192_808,
}
# Table 2: top-1 error (%, 10-crop testing).
TABLE2_TOP1 = {("plain", 18): 27.94, ("plain", 34): 28.54, ("resnet", 18): 27.88, ("resnet", 34): 25.03}
# Table 3: top-1 / top-5 error (%, 10-crop testing).
TABLE3 = {
    ("34", "A"): (25.03, 7.76),
    ("34", "B"): (24.52, 7.46),
    ("34", "C"): (24.19, 7.40),
    ("50", "B"): (22.85, 6.71),
    ("101", "B"): (21.75, 6.05),
    ("152", "B"): (21.43, 5.71),
}
