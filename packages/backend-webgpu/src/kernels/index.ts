// Importing this module registers every kernel (one file each).
import './add';
import './average-pool';
import './clip';
import './conv';
import './dequantize-linear';
import './flatten';
import './gemm';
import './global-average-pool';
import './max-min';
import './max-pool';
import './pad';
import './quantize-linear';
import './relu';
import './reshape';
import './softmax';
