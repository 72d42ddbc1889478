"""Every catalogued equation as LaTeX, for the documentation site's article pages.

The catalogue (ref_cnn/equations/articles.py) keeps the statements in Unicode so that they read in
a terminal; these are the same statements typeset. A test checks that every catalogue ID
has one here and no other ID does.
"""

from __future__ import annotations

LATEX: dict[str, str] = {
    "AV-1": r"Z_{i,j} = \sum_m \sum_n X_{i+m,\,j+n}\, f_{m,n};\quad"
    r"\begin{bmatrix}1&7&2\\11&1&23\\2&2&2\end{bmatrix} \star \begin{bmatrix}1&1\\0&1\end{bmatrix}"
    r" = \begin{bmatrix}9&32\\14&26\end{bmatrix}",
    "AV-2": r"(n - f + 1) \times (n - f + 1)",
    "AV-3": r"X_{n\times n} \mapsto (n-f+1)^2 \text{ patches of } f \times f"
    r" \quad (n = 28,\ f = 5:\ 576 \text{ patches})",
    "AV-4": r"(n-f+1)\cdot(n-f+1)\cdot n_{\text{filters}} \quad (28,\ 5,\ 3 \text{ filters}: 1728)",
    "AV-5": r"Z = W^\top X + b, \qquad W \in \mathbb{R}^{m \times n}",
    "AV-6": r"\sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,(1 - \sigma(x)) = A(1 - A)",
    "AV-7": r"Z_1 = X \star f,\quad A_1 = \sigma(Z_1),\quad Z_2 = W^\top A_1 + b,\quad O = \sigma(Z_2)",
    "AV-8": r"E = \tfrac{1}{2}(y' - O)^2, \qquad \frac{\partial E}{\partial O} = -(y' - O)",
    "AV-9": r"\frac{\partial O}{\partial Z_2} = O\,(1 - O)",
    "AV-10": r"\frac{\partial E}{\partial W} = \frac{\partial E}{\partial O}\cdot"
    r"\frac{\partial O}{\partial Z_2}\cdot\frac{\partial Z_2}{\partial W},"
    r"\qquad \frac{\partial Z_2}{\partial W} = A_1",
    "AV-11": r"\frac{\partial E}{\partial b} = \sum_{\text{samples}} \frac{\partial E}{\partial O}"
    r"\cdot\frac{\partial O}{\partial Z_2}",
    "AV-12": r"\theta_{\text{new}} = \theta_{\text{old}} - \eta\,\frac{\partial E}{\partial \theta},"
    r"\qquad \theta \in \{W, b, f\}",
    "AV-13": r"\frac{\partial Z_2}{\partial A_1} = W^\top, \qquad"
    r" \frac{\partial A_1}{\partial Z_1} = A_1\,(1 - A_1)",
    "AV-14": r"\frac{\partial E}{\partial f} = \sum_{\text{images}} X \star \delta_1,"
    r"\qquad \delta_1 = \frac{\partial E}{\partial Z_1}",
    "AV-15": r"X \in [0,1]^{28\times 28},\ y = [\text{digit} > 4];\quad"
    r"f \sim U[0,1)^{3\times 5\times 5};\quad"
    r"X \xrightarrow{\star f} \sigma \to \text{flatten}(1728) \to \text{dense}(1) \to \sigma"
    r" \to \tfrac{1}{2}(y - O)^2",
    "MB-1": r"\mathrm{VEF} = \begin{bmatrix}1&0&-1\\1&0&-1\\1&0&-1\end{bmatrix},"
    r"\qquad \mathrm{HEF} = \mathrm{VEF}^\top",
    "MB-2": r"y_{ij} = \sum_{m,n} X_{i+m,\,j+n}\, w_{mn}",
    "MB-3": r"X \mapsto \text{$p$ rows and columns of zeros on each of the four sides}",
    "MB-4": r"y_{ij} = \sum_{m,n} X_{s i + m,\, s j + n}\, w_{mn}",
    "MB-5": r"\operatorname{conv}(I, K)_{x,y} = \sum_{i=1}^{f}\sum_{j=1}^{f}\sum_{k=1}^{n_C}"
    r" K_{i,j,k}\, I_{x+i-1,\, y+j-1,\, k}",
    "MB-6": r"\left\lfloor \frac{n + 2p - f}{s} \right\rfloor + 1",
    "MB-7": r"\text{valid: } p = 0;\quad \text{same: } p = \frac{f-1}{2}"
    r"\ (f \text{ odd},\ s = 1);\quad 1\times 1: f = 1",
    "MB-8": r"\operatorname{pool}(a)_{x,y,c} = \max_{(i,j)\in[1..f]^2} \text{ or }"
    r" \operatorname{mean}_{(i,j)\in[1..f]^2}\ a_{s(x-1)+i,\, s(y-1)+j,\, c},"
    r"\qquad \left\lfloor \frac{n + 2p - f}{s} \right\rfloor + 1",
    "MB-9": r"a^{[l]} = \left[\psi\left(\operatorname{conv}(a^{[l-1]}, K^{(n)}) + b_n\right)\right]"
    r"_{n = 1..n_C^{[l]}} \in \mathbb{R}^{n_H^{[l]} \times n_W^{[l]} \times n_C^{[l]}}",
    "MB-10": r"(f \cdot f \cdot n_C^{[l-1]}) \cdot n_C^{[l]} + n_C^{[l]}",
    "MB-11": r"z_j = \sum_l w_{j,l}\, a_l + b_j, \qquad a_j = \psi(z_j)",
    "MB-12": r"\left[\,[\mathrm{CONV} \to \psi]^{+} \to \mathrm{POOL}\,\right]^{+}"
    r" \to \mathrm{FC}^{+}",
    "MB-13": r"J(\theta) = \frac{1}{m}\sum_{i=1}^{m} L(\hat y_i, y_i), \qquad \theta := G(\theta)",
    "MB-14": r"x \mapsto \operatorname{crop}(x),\ \operatorname{rotate}(x),\ \operatorname{flip}(x),"
    r"\ x + \varepsilon,\ \operatorname{colour}(x)",
    "MB-15": r"D = D_{\text{train}} \sqcup D_{\text{dev}} \sqcup D_{\text{test}}",
    "MB-16": r"a^{[i]} = \psi\left(z^{[i]} + a^{[i-2]}\right)",
    "MB-17": r"a^{[i]} = \psi\left(z^{[i]} + W_s\, a^{[i-2]}\right)",
    "MB-18": r"\operatorname{concat}_{C}\left(\operatorname{conv}_{1\times1}(a),"
    r" \operatorname{conv}_{3\times3}(a), \operatorname{conv}_{5\times5}(a), \operatorname{pool}(a)\right)",
    "IC-1": r"Y = X \star K, \qquad \text{size } n - k + 1",
    "IC-2": r"X * K = X \star \operatorname{rot180}(K)",
    "IC-3": r"Y = X \star_{\text{full}} K, \qquad \text{size } n + k - 1",
    "IC-4": r"Y_i = B_i + \sum_{j=1}^{n} X_j \star K_{ij}, \qquad i = 1..d",
    "IC-5": r"\frac{\partial E}{\partial K_{ij}} = X_j \star \frac{\partial E}{\partial Y_i}",
    "IC-6": r"\frac{\partial E}{\partial B_i} = \frac{\partial E}{\partial Y_i}",
    "IC-7": r"\frac{\partial E}{\partial X_j} = \sum_{i} \frac{\partial E}{\partial Y_i}"
    r" *_{\text{full}} K_{ij}",
    "IC-8": r"y = \max_{w} x_w, \qquad \frac{\partial E}{\partial x_w} ="
    r" \begin{cases} \frac{\partial E}{\partial y} & w = \operatorname{argmax} x \\"
    r" 0 & \text{otherwise} \end{cases}",
    "IC-9": r"y = \frac{1}{|w|}\sum_{w} x_w, \qquad"
    r" \frac{\partial E}{\partial x_w} = \frac{1}{|w|}\,\frac{\partial E}{\partial y}",
    "IC-10": r"\left\lfloor \frac{n - k}{s} \right\rfloor + 1",
    "IC-11": r"n + 2P - k + 1, \qquad \frac{\partial E}{\partial X} ="
    r" \operatorname{crop}_P\left(\sum_i \frac{\partial E}{\partial Y_i} *_{\text{full}} K_{i}\right)",
    "IC-12": r"K \sim \mathcal{N}\left(0, \frac{2}{\text{fan}_{\text{in}}}\right),"
    r"\qquad \text{fan}_{\text{in}} = C_{\text{in}}\, k^2",
    "IC-13": r"K \leftarrow K - \eta\,\frac{\partial E}{\partial K}, \qquad"
    r" B \leftarrow B - \eta\,\frac{\partial E}{\partial B}",
}
