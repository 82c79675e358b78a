"""cmftvb: region-specific virtual brains.

A whole-brain network in the style of The Virtual Brain whose cerebellar-cortex nodes run the
cerebellar mean field of Lorenzi et al. (2023, PLoS Comput Biol 19:e1011434; 2025, npj Syst Biol
Appl 11:66), compared with a homogeneous Wong-Wang network.
"""

__version__ = "0.1.0"


class CmftvbError(Exception):
    """An error a user can cause (bad file, bad key, diverging simulation).

    The command line and the workflow scripts print its message without a traceback; the
    message names the file or key and what is wrong. It is always one line: text taken from
    a library's exception (a parser's multi-line report, say) is folded onto it.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(" ".join(str(message).split()), *args)
