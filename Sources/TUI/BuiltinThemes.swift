// The shipped themes, embedded so `--theme NAME` works wherever the binary is installed.
// Kept byte-identical to themes/*.toml (a test checks); edit both together.

enum BuiltinThemes {
    static let dark = """
    # saescope theme "dark" (the default).
    # Keys are semantic roles; values are "#rrggbb" (or "#rgb"). A missing key takes the dark
    # theme's value; an unknown key is reported once and ignored.
    name = "dark"
    background = "#16181d"
    text = "#d6dae1"
    dim_text = "#7d8593"
    title = "#8cc4ff"
    selection = "#2c3a57"   # background of the selected row
    border = "#3d4452"
    accent = "#ffb454"
    positive = "#5fb3f0"    # class 1 (true)
    negative = "#f07f5f"    # class 0 (false)
    mixed = "#c58af9"       # scatter cells holding more than one class
    ramp_start = "#1f2a3a"  # activation ramp, low end
    ramp_end = "#ff9a3c"    # activation ramp, high end
    warning = "#e5c07b"
    error = "#ff5c5c"
    # Without colour (NO_COLOR): ramp shades at or above this fraction are underlined.
    mono_ramp_threshold = 0.5
    """

    static let light = """
    # saescope theme "light": dark text on a light background.
    name = "light"
    background = "#fafaf7"
    text = "#1f2328"
    dim_text = "#6b7380"
    title = "#0a4fa8"
    selection = "#cde0ff"
    border = "#c5cad3"
    accent = "#b34700"
    positive = "#1f6fd1"
    negative = "#c2410c"
    mixed = "#7c3aed"
    ramp_start = "#fdf1e3"
    ramp_end = "#f97316"
    warning = "#8a6100"
    error = "#c62828"
    mono_ramp_threshold = 0.5
    """

    static let highContrast = """
    # saescope theme "high-contrast": colour-blind safe. Classes use the Okabe-Ito palette (sky blue
    # and orange, reddish purple when mixed); the activation ramp runs from deep blue to yellow with
    # lightness rising monotonically, so it reads in order under every colour-vision deficiency and
    # in greyscale.
    name = "high-contrast"
    background = "#000000"
    text = "#ffffff"
    dim_text = "#c0c0c0"
    title = "#ffffff"
    selection = "#0072b2"   # Okabe-Ito blue
    border = "#a0a0a0"
    accent = "#f0e442"      # Okabe-Ito yellow
    positive = "#56b4e9"    # Okabe-Ito sky blue
    negative = "#e69f00"    # Okabe-Ito orange
    mixed = "#cc79a7"       # Okabe-Ito reddish purple
    ramp_start = "#0d0887"
    ramp_end = "#f0f921"
    warning = "#f0e442"
    error = "#d55e00"       # Okabe-Ito vermillion
    mono_ramp_threshold = 0.5
    """

}
