const INPUT = "src";

module.exports = function (eleventyConfig) {
  eleventyConfig.addPassthroughCopy("src/img");
  eleventyConfig.ignores.add("src/notes/private/**");

  return {
    templateFormats: ["md", "njk", "html"],
    markdownTemplateEngine: false,
    dir: {
      input: INPUT,
      includes: "_includes",
      data: "_data",
      output: "_site",
    },
  };
};
